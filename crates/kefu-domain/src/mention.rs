//! @mentions in internal notes: `@li.wei` (the local part of an agent's email address) or `@42` (an agent id).
//!
//! [`parse_mentions`] finds the handles in a note's text; `kefu-app` resolves them to agents and notifies
//! those who may see the ticket. A handle starts at an `@` that does not follow an ASCII letter, digit or
//! `. _ + -` (so `someone@example.com` mentions nobody, while `请@li` does) and runs over ASCII letters,
//! digits and `. _ + -`, without a trailing dot.
//!
//! ```
//! use kefu_domain::{Mention, parse_mentions};
//! let found = parse_mentions("@li.wei please check, cc @7.");
//! assert_eq!(found, vec![Mention::Handle("li.wei".into()), Mention::AgentId(7)]);
//! ```

/// One mention in a note.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mention {
    /// `@42`: an agent id.
    AgentId(i64),
    /// `@li.wei`: the local part of an agent's email address, lower-cased.
    Handle(String),
}

impl Mention {
    /// Whether this mention names the agent with this id and email address.
    pub fn names(&self, agent_id: i64, email: &str) -> bool {
        match self {
            Mention::AgentId(id) => *id == agent_id,
            Mention::Handle(handle) => {
                email.rsplit_once('@').is_some_and(|(local, _)| local.eq_ignore_ascii_case(handle))
            }
        }
    }
}

/// The most mentions read from one note; the rest are ignored.
pub const MAX_MENTIONS: usize = 50;

fn handle_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | '+' | '-')
}

/// The distinct mentions in `text`, in the order they first appear (at most [`MAX_MENTIONS`]).
pub fn parse_mentions(text: &str) -> Vec<Mention> {
    let mut mentions: Vec<Mention> = Vec::new();
    let mut previous: Option<char> = None;
    let mut characters = text.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        let starts = character == '@' && !previous.is_some_and(handle_char);
        previous = Some(character);
        if !starts {
            continue;
        }
        let rest = &text[index + 1..];
        let length = rest.find(|c: char| !handle_char(c)).unwrap_or(rest.len());
        let handle = rest[..length].trim_end_matches(['.', '-', '+']);
        if handle.is_empty() {
            continue;
        }
        let mention = match handle.parse::<i64>() {
            Ok(id) if !handle.starts_with('+') && !handle.starts_with('-') => Mention::AgentId(id),
            _ => Mention::Handle(handle.to_ascii_lowercase()),
        };
        if !mentions.contains(&mention) {
            mentions.push(mention);
            if mentions.len() == MAX_MENTIONS {
                break;
            }
        }
        for _ in 0..length {
            previous = characters.next().map(|(_, c)| c);
        }
    }
    mentions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &[&str]) {
        let found: Vec<String> = parse_mentions(text)
            .into_iter()
            .map(|mention| match mention {
                Mention::AgentId(id) => format!("#{id}"),
                Mention::Handle(handle) => handle,
            })
            .collect();
        assert_eq!(found, expect, "{text:?}");
    }

    #[test]
    fn finds_handles_and_ids() {
        check("@li.wei can you look?", &["li.wei"]);
        check("cc @Anna_B and @12, thanks", &["anna_b", "#12"]);
        check("请 @zhang.san 处理，或者请@li", &["zhang.san", "li"]);
        check("(@bob) @bob @BOB", &["bob"]);
        check("end with a dot @carol.", &["carol"]);
    }

    #[test]
    fn ignores_email_addresses_and_bare_at_signs() {
        check("write to someone@example.com", &[]);
        check("@ alone, @@, @.", &[]);
        check("", &[]);
    }

    #[test]
    fn names_matches_local_part_case_insensitively() {
        assert!(Mention::Handle("li.wei".into()).names(3, "Li.Wei@example.com"));
        assert!(!Mention::Handle("li".into()).names(3, "li.wei@example.com"));
        assert!(Mention::AgentId(3).names(3, "x@example.com"));
    }

    #[test]
    fn stops_after_the_limit() {
        let text: String = (0..200).map(|i| format!("@a{i} ")).collect();
        assert_eq!(parse_mentions(&text).len(), MAX_MENTIONS);
    }
}
