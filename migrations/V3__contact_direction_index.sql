-- get_messages filtered by contact and direction at once: both are equality
-- constraints of one index, then (created_at, id) in order.
CREATE INDEX messages_by_contact_direction ON messages (contact_wa_id, direction, created_at, id);
