//! Who is calling: the owner on this machine (stdio, the shell) or a remote client the
//! owner approved through OAuth. Rows a caller sends record its client id, and some
//! tools behave differently for a remote caller (no local paths in or out).

use super::oauth::RemoteClient;

/// The client id of every row made on this machine.
pub const LOCAL_CLIENT_ID: &str = crate::store::outbound::CLIENT_ID;

/// The caller of a messaging function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Caller {
    /// The owner on this machine.
    #[default]
    Local,
    /// An approved remote client, through `/mcp`.
    Remote(RemoteClient),
}

impl Caller {
    /// The `messages.client_id` its rows carry.
    pub fn client_id(&self) -> &str {
        match self {
            Caller::Local => LOCAL_CLIENT_ID,
            Caller::Remote(c) => &c.client_id,
        }
    }

    /// Whether it came over the network: then no local file may be named, read or
    /// revealed by path.
    pub fn is_remote(&self) -> bool {
        matches!(self, Caller::Remote(_))
    }
}
