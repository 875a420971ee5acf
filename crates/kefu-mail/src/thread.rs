//! Threading hints: Message-ID normalization, the subject tag (`[#10234]`) and the body marker.
//!
//! The use cases thread an inbound mail by four checks, in order: In-Reply-To and every References id
//! against stored Message-IDs; the body marker (for providers that rewrite Message-IDs); then the subject
//! tag, which counts only when the sender belongs to the ticket. This module only reads and writes the
//! hints; the look-ups are `kefu-app`'s.

use sha2::{Digest, Sha256};

/// The longest Message-ID kept; longer ones are junk and would bloat the index.
const MAX_MESSAGE_ID: usize = 500;

/// A Message-ID without angle brackets and surrounding space; `None` when nothing usable is left.
pub fn normalize_message_id(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    let valid = !trimmed.is_empty()
        && trimmed.len() <= MAX_MESSAGE_ID
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    valid.then(|| trimmed.to_owned())
}

/// The subject tag format: `[` + prefix + ticket number + `]`, e.g. `[#10234]` or `[Ticket#10234]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTag {
    prefix: String,
}

impl Default for SubjectTag {
    fn default() -> Self {
        SubjectTag { prefix: "#".into() }
    }
}

impl SubjectTag {
    /// A tag with this prefix (1 to 20 characters, no brackets); `None` when unusable.
    pub fn new(prefix: &str) -> Option<SubjectTag> {
        let prefix = prefix.trim();
        let valid = (1..=20).contains(&prefix.chars().count())
            && !prefix.chars().any(|c| c == '[' || c == ']' || c.is_control() || c.is_ascii_digit());
        valid.then(|| SubjectTag { prefix: prefix.to_owned() })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The tag of a ticket number: `[#10234]`.
    pub fn format(&self, number: i64) -> String {
        format!("[{}{number}]", self.prefix)
    }

    /// The first ticket number tagged in a subject.
    pub fn find(&self, subject: &str) -> Option<i64> {
        let opener = format!("[{}", self.prefix);
        let mut rest = subject;
        while let Some(start) = rest.find(&opener) {
            let after = &rest[start + opener.len()..];
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && after[digits.len()..].starts_with(']') {
                return digits.parse().ok();
            }
            rest = after;
        }
        None
    }

    /// The subject of a reply: the original without reply prefixes, with the tag added once.
    pub fn reply_subject(&self, subject: &str, number: i64) -> String {
        let base = clean_subject(subject);
        let tag = self.format(number);
        let base = base.replace(&tag, "");
        let base = base.trim();
        if base.is_empty() { format!("Re: {tag}") } else { format!("Re: {tag} {base}") }
    }
}

/// A subject without `Re:`/`Fwd:`/`回复:`/`答复:`/`转发:` prefixes (repeated, any case, half- or
/// full-width colon).
pub fn clean_subject(subject: &str) -> String {
    const PREFIXES: [&str; 10] = ["re", "fw", "fwd", "aw", "sv", "wg", "回复", "答复", "转发", "回覆"];
    let mut rest = subject.trim();
    'outer: loop {
        for prefix in PREFIXES {
            let matches = rest.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix));
            if !matches {
                continue;
            }
            let after = rest[prefix.len()..].trim_start();
            let after = after.strip_prefix(':').or_else(|| after.strip_prefix('：'));
            if let Some(after) = after {
                rest = after.trim_start();
                continue 'outer;
            }
        }
        return rest.to_owned();
    }
}

/// The marker Kefu writes at the end of outgoing bodies: `[kefu-ref:10234-1a2b3c]`. The check digits tie
/// the number to the sending mailbox, so a stray `[kefu-ref:5]` typed by someone cannot hijack a ticket.
pub fn marker(number: i64, mailbox_address: &str) -> String {
    format!("[kefu-ref:{number}-{}]", marker_check(number, mailbox_address))
}

fn marker_check(number: i64, mailbox_address: &str) -> String {
    let digest = Sha256::digest(format!("kefu-ref:{number}:{}", mailbox_address.to_lowercase()));
    hex::encode(&digest[..3])
}

/// The ticket number of the first well-formed marker in a body, with its check digits.
pub fn find_marker(text: &str) -> Option<i64> {
    find_marker_parts(text).map(|(number, _)| number)
}

/// The number and check digits of the first marker in a body.
pub fn find_marker_parts(text: &str) -> Option<(i64, String)> {
    let mut rest = text;
    while let Some(start) = rest.find("[kefu-ref:") {
        let after = &rest[start + "[kefu-ref:".len()..];
        if let Some(end) = after.find(']') {
            let inner = &after[..end];
            if let Some((number, check)) = inner.split_once('-')
                && let Ok(number) = number.parse::<i64>()
                && check.len() == 6
                && check.chars().all(|c| c.is_ascii_hexdigit())
            {
                return Some((number, check.to_owned()));
            }
        }
        rest = after;
    }
    None
}

/// True when a marker's check digits belong to this mailbox.
pub fn marker_matches(number: i64, check: &str, mailbox_address: &str) -> bool {
    marker_check(number, mailbox_address) == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_lose_brackets_and_junk_is_refused() {
        assert_eq!(normalize_message_id(" <a@b> ").as_deref(), Some("a@b"));
        assert_eq!(normalize_message_id("<>"), None);
        assert_eq!(normalize_message_id("a b@c"), None);
    }

    #[test]
    fn subject_tags_are_found_and_written_once() {
        let tag = SubjectTag::default();
        assert_eq!(tag.find("Re: [#10234] 发票"), Some(10234));
        assert_eq!(tag.find("[#x] [#12]"), Some(12));
        assert_eq!(tag.find("no tag #12"), None);
        assert_eq!(tag.reply_subject("回复：Re: [#7] 发票问题", 7), "Re: [#7] 发票问题");
        let custom = SubjectTag::new("Ticket#").expect("valid prefix");
        assert_eq!(custom.format(5), "[Ticket#5]");
        assert_eq!(custom.find("AW: [Ticket#5] x"), Some(5));
        assert!(SubjectTag::new("[x").is_none());
    }

    #[test]
    fn markers_round_trip_and_check_their_mailbox() {
        let text = format!("Hello\n\n{}\n", marker(42, "Support@Kefu.example"));
        let (number, check) = find_marker_parts(&text).expect("marker");
        assert_eq!(number, 42);
        assert!(marker_matches(42, &check, "support@kefu.example"));
        assert!(!marker_matches(42, &check, "sales@kefu.example"));
        assert_eq!(find_marker("[kefu-ref:42]"), None);
    }

    #[test]
    fn reply_prefixes_are_removed() {
        assert_eq!(clean_subject("RE: Fwd: 答复: hello"), "hello");
        assert_eq!(clean_subject("Reply needed"), "Reply needed");
    }
}
