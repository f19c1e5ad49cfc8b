//! The words the synthetic inbox is written with: each language's most common chat words
//! in rough order of frequency (an entry may be a short phrase), and the names its
//! speakers go by. [`super::corpus`] extends each list with a long tail of rarer words.

/// Common words of WhatsApp chats in English, most frequent first.
#[rustfmt::skip]
pub const ENGLISH: &[&str] = &[
    "the", "you", "I", "to", "a", "and", "is", "it", "for", "that", "of", "in", "my", "me",
    "on", "have", "we", "can", "be", "this", "at", "will", "your", "so", "do", "are", "not",
    "just", "what", "with", "no", "but", "get", "know", "if", "all", "was", "ok", "good",
    "thank you", "yes", "here", "there", "now", "time", "today", "tomorrow", "please", "thanks",
    "order", "how", "when", "see you", "one", "like", "up", "out", "send", "sure", "call",
    "back", "come", "going", "let me know", "about", "our", "would", "could", "great", "sorry",
    "morning", "good morning", "hi", "hello", "need", "want", "still", "day", "week", "home",
    "work", "got", "from", "did", "been", "they", "them", "he", "she", "his", "her", "any",
    "some", "more", "much", "well", "then", "than", "also", "make", "take", "think", "tell",
    "said", "new", "price", "delivery", "invoice", "payment", "address", "receipt", "parcel",
    "booking", "meeting", "friday", "monday", "saturday", "sunday", "tonight", "later",
    "soon", "already", "money", "pay", "paid", "shop", "size", "colour", "blue", "red",
    "black", "white", "jacket", "shoes", "dress", "table", "room", "car", "train", "bus",
    "lunch", "dinner", "coffee", "tea", "food", "kids", "school", "doctor", "appointment",
    "tracking", "refund", "account", "number", "code", "link", "photo", "picture", "file",
    "document", "contract", "quote", "discount", "stock", "available", "ready", "arrived",
    "shipped", "collected", "pickup", "confirm", "confirmed", "cancel", "cancelled", "change",
    "problem", "no problem", "question", "answer", "check", "checked", "ask", "asked",
    "waiting", "wait", "minutes", "hour", "hours", "late", "early", "happy", "birthday",
    "love", "miss", "family", "mum", "dad", "brother", "sister", "friend", "team", "boss",
    "client", "customer", "supplier", "manager", "office", "meeting room", "on my way",
    "how are you", "where", "why", "who", "which", "again", "first", "last", "next", "best",
    "right", "left", "free", "busy", "open", "closed", "near", "far", "outside", "inside",
    "weather", "rain", "sun", "beach", "holiday", "flight", "hotel", "ticket", "airport",
    "march", "april", "june", "july", "august", "september", "october", "november",
];

/// Common words of chats in Spanish.
#[rustfmt::skip]
pub const SPANISH: &[&str] = &[
    "que", "de", "no", "la", "el", "y", "en", "a", "es", "lo", "un", "por", "me", "se",
    "con", "para", "una", "los", "te", "mi", "está", "qué", "bien", "pero", "sí", "hola",
    "gracias", "mañana", "también", "muy", "más", "todo", "hoy", "ya", "cuando", "dónde",
    "cómo", "pedido", "factura", "envío", "precio", "señor", "niño", "años", "día", "después",
    "así", "aquí", "ahora", "tengo", "puedo", "por favor", "vale", "buenos días", "hasta luego",
    "nos vemos", "pago", "dirección", "tienda", "semana", "reunión", "tarde", "noche", "casa",
    "trabajo", "cita", "médico", "cumpleaños", "feliz", "llegó", "recibí", "mandé", "café",
];

/// Common words of chats in German.
#[rustfmt::skip]
pub const GERMAN: &[&str] = &[
    "ich", "die", "und", "der", "nicht", "das", "ist", "du", "es", "sie", "zu", "ein", "mit",
    "für", "auf", "den", "wir", "ja", "hallo", "danke", "schön", "über", "Grüße", "Straße",
    "Größe", "bitte", "morgen", "heute", "Bestellung", "Rechnung", "Lieferung", "Preis",
    "Zahlung", "Adresse", "Woche", "später", "können", "würde", "gerne", "natürlich", "genau",
    "fünf", "zurück", "tschüss", "Termin", "Büro", "Kollegen", "Geschäft", "Frühstück",
    "Mädchen", "Äpfel", "Öffnungszeiten", "Überweisung", "gemütlich", "viele Grüße",
];

/// Common words of chats in French.
#[rustfmt::skip]
pub const FRENCH: &[&str] = &[
    "je", "de", "la", "le", "et", "pas", "les", "à", "est", "que", "un", "tu", "une", "en",
    "ça", "pour", "bien", "merci", "bonjour", "très", "être", "déjà", "français", "café",
    "élève", "où", "voilà", "demain", "aujourd'hui", "commande", "facture", "livraison", "prix",
    "paiement", "adresse", "semaine", "à bientôt", "désolé", "peut-être", "ça va",
    "s'il vous plaît", "réunion", "bureau", "hôpital", "fenêtre", "garçon", "reçu", "envoyé",
    "problème", "après", "bientôt", "noël", "théâtre", "forêt",
];

/// Common words of chats in Arabic.
#[rustfmt::skip]
pub const ARABIC: &[&str] = &[
    "في", "من", "على", "أن", "هذا", "مرحبا", "شكرا", "السلام عليكم", "كيف حالك", "نعم", "لا",
    "إن شاء الله", "الطلب", "الفاتورة", "التوصيل", "السعر", "غدا", "اليوم", "الأسبوع", "العنوان",
    "الدفع", "المتجر", "أريد", "ممكن", "تمام", "حبيبي", "صباح الخير", "مساء الخير", "الحمد لله",
    "متى", "أين", "كم", "موعد", "المكتب", "الاجتماع", "وصل", "أرسلت", "شكرا جزيلا",
];

/// Common words of chats in Chinese, written together without spaces.
#[rustfmt::skip]
pub const CHINESE: &[&str] = &[
    "你好", "谢谢", "我们", "明天", "今天", "开会", "发票", "订单", "多少钱", "快递", "地址",
    "付款", "没问题", "好的", "可以", "什么时候", "下午", "上午", "晚上", "见面", "朋友",
    "公司", "老板", "价格", "收到", "已经", "发货", "退款", "请问", "一下", "时间", "周末",
];

/// Common words of chats in Japanese, written together without spaces.
#[rustfmt::skip]
pub const JAPANESE: &[&str] = &[
    "ありがとうございます", "よろしくお願いします", "明日", "今日", "東京", "大阪", "会議",
    "請求書", "注文", "配送", "住所", "お支払い", "了解です", "大丈夫", "すみません",
    "お疲れ様です", "何時", "午後", "午前", "週末", "確認", "します", "行きます",
];

/// Characters the long tail of Chinese and Japanese words is made of.
#[rustfmt::skip]
pub const CJK_CHARACTERS: &str = "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就\
    那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方\
    又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己\
    話語駅電車店員";

/// The onsets and vowels the long tail of English, Spanish, German and French words is
/// spelt with, in the order of [`super::corpus::Language`].
#[rustfmt::skip]
pub const SYLLABLES: [(&[&str], &[&str]); 4] = [
    (
        &["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "br",
          "ch", "sh", "th", "st", "tr", "pl", "gr"],
        &["a", "e", "i", "o", "u", "ee", "oo", "ai", "ou", "y"],
    ),
    (
        &["b", "c", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s", "t", "v", "ll", "ch", "rr",
          "ñ"],
        &["a", "e", "i", "o", "u", "a", "e", "o", "á", "é", "í", "ó", "ú"],
    ),
    (
        &["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "w", "z", "sch", "st",
          "ß"],
        &["a", "e", "i", "o", "u", "e", "ä", "ö", "ü", "ei", "au", "ie"],
    ),
    (
        &["b", "c", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "qu"],
        &["a", "e", "i", "o", "u", "é", "è", "ê", "ou", "ai", "eau", "ç"],
    ),
];

/// The letters of the long tail of Arabic words.
pub const ARABIC_LETTERS: &str = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي";

/// Emoji as people use them, with skin tones, variation selectors, flags and joiners.
#[rustfmt::skip]
pub const EMOJI: &[&str] = &[
    "😂", "❤️", "👍", "🙏", "😊", "🎉", "👍🏽", "😭", "🔥", "✅", "🇬🇧", "👨‍👩‍👧", "😅", "🙌🏻",
];

/// First and last names, per language, in the order of [`super::corpus::Language`].
#[rustfmt::skip]
pub const FIRST_NAMES: [&[&str]; 7] = [
    &[
        "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David",
        "Elizabeth", "William", "Sarah", "Emma", "Oliver", "Amelia", "Harry", "Jack", "Sophie",
        "Chloe", "Daniel", "Thomas", "Grace", "Lucy", "Charlotte", "Ben", "Ada", "Mark", "Anna",
    ],
    &[
        "José", "María", "Lucía", "Javier", "Sofía", "Alejandro", "Martina", "Pablo", "Carmen",
        "Álvaro", "Inés", "Andrés", "Sergio", "Elena", "Raúl",
    ],
    &[
        "Jürgen", "Lukas", "Anna", "Felix", "Lena", "Jonas", "Sophie", "Maximilian", "Leonie",
        "Jörg", "Björn", "Käthe", "Günter", "Mia", "Paul",
    ],
    &[
        "Léa", "Chloé", "Hugo", "Louis", "Zoé", "Théo", "Inès", "Gabriel", "Jules", "Manon",
        "Camille", "Élodie", "Raphaël", "Noémie", "Clément",
    ],
    &[
        "محمد", "أحمد", "علي", "فاطمة", "عائشة", "خالد", "عمر", "يوسف", "مريم", "نور", "حسن",
        "ليلى", "سارة", "إبراهيم", "Mohammed", "Ahmed", "Fatima", "Omar", "Youssef",
    ],
    &["伟", "娜", "敏", "洋", "静", "帆", "磊", "丽", "杰", "芳"],
    &["太郎", "花子", "健", "さくら", "翔太", "陽菜", "大輔", "美咲"],
];

/// Last names, per language (Chinese and Japanese ones come first in a name).
#[rustfmt::skip]
pub const LAST_NAMES: [&[&str]; 7] = [
    &[
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
        "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
        "Wood", "Jackson", "Clarke", "Lovelace", "O'Brien", "Patel", "Khan",
    ],
    &[
        "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
        "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Muñoz",
    ],
    &[
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Schröder",
        "Krüger", "Köhler",
    ],
    &[
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Lefèvre", "François", "Bonnet", "Girard", "Rousseau", "Fournier",
    ],
    &[
        "العلي", "الحسن", "الخطيب", "المصري", "الشامي", "النجار", "السيد", "حداد", "عبدالله",
        "منصور", "Al-Masri", "Haddad", "Mansour",
    ],
    &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"],
    &["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"],
];
