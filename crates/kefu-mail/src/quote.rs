//! Quoted history and signatures: what the customer actually wrote this time.
//!
//! [`strip_quotes`] removes the quoted original of a reply, recognising the headers clients put above it:
//! Gmail and Thunderbird "On ... wrote:" (and its French, German, Spanish, Russian, Chinese forms), Outlook
//! and Yahoo `From:`/`Sent:` blocks, `-----Original Message-----`, `-----原始邮件-----` and the
//! `发件人:`/`发送时间:` blocks of QQ Mail and Foxmail, and `>`-quoted blocks. A bottom-posted reply keeps
//! the text below the quote. [`strip_signature`] then cuts a signature after `-- ` or a
//! "Sent from my iPhone" line. Both work on plain text (HTML is converted first).

/// Endings of an attribution line ("On Mon, Alex wrote:").
const WROTE: [&str; 18] = [
    "wrote:",
    "wrote :",
    "writes:",
    "写道：",
    "写道:",
    "寫道：",
    "寫道:",
    "schrieb:",
    "a écrit :",
    "a écrit:",
    "escribió:",
    "написал:",
    "написал(а):",
    "napisał:",
    "skrev:",
    "schreef:",
    "ha scritto:",
    "escreveu:",
];

/// Header names that open a quoted-header block, and those that continue it.
const BLOCK_START: [&str; 7] = ["from:", "*from:*", "发件人:", "发件人：", "寄件者:", "寄件者：", "von:"];
const BLOCK_MORE: [&str; 18] = [
    "sent:",
    "*sent:*",
    "date:",
    "to:",
    "*to:*",
    "subject:",
    "*subject:*",
    "cc:",
    "发送时间:",
    "发送时间：",
    "日期:",
    "日期：",
    "收件人:",
    "收件人：",
    "主题:",
    "主题：",
    "gesendet:",
    "an:",
];

fn starts_with_any(line: &str, prefixes: &[&str]) -> bool {
    let lower = line.trim_start().to_lowercase();
    prefixes.iter().any(|prefix| lower.starts_with(prefix))
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_separator(line: &str) -> bool {
    let trimmed = line.trim().trim_matches('*');
    let lower = trimmed.to_lowercase();
    let dashed = trimmed.starts_with("---") || trimmed.starts_with("___") || trimmed.starts_with("===");
    (dashed
        && (lower.contains("original message")
            || lower.contains("原始邮件")
            || lower.contains("原始郵件")
            || lower.contains("原始信息")
            || lower.contains("reply message")
            || lower.contains("ursprüngliche nachricht")
            || lower.contains("message d'origine")))
        || lower == "-----original message-----"
}

fn ends_with_wrote(line: &str) -> bool {
    let trimmed = line.trim_end().to_lowercase();
    trimmed.len() < 400 && WROTE.iter().any(|ending| trimmed.ends_with(ending))
}

/// The attribution may wrap over up to three lines; returns where it starts when line `index` ends it.
fn attribution_start(lines: &[&str], index: usize) -> usize {
    let mut start = index;
    for _ in 0..2 {
        if start == 0 {
            break;
        }
        let previous = lines[start - 1];
        let looks_like_attribution = !is_blank(previous)
            && !is_quoted(previous)
            && (previous.chars().any(|c| c.is_ascii_digit() || c == '@' || c == '<')
                || starts_with_any(previous, &["on ", "le ", "am ", "el ", "在"]));
        if looks_like_attribution { start -= 1 } else { break }
    }
    start
}

/// Where the quoted history starts (the header or separator above it), if a splitter is found.
fn find_splitter(lines: &[&str]) -> Option<usize> {
    for (index, line) in lines.iter().enumerate() {
        if is_quoted(line) {
            continue;
        }
        if is_separator(line) {
            return Some(index);
        }
        if ends_with_wrote(line) {
            return Some(attribution_start(lines, index));
        }
        if starts_with_any(line, &BLOCK_START) {
            let window = lines[index + 1..].iter().take(6);
            let continued = window.filter(|next| starts_with_any(next, &BLOCK_MORE)).count();
            if continued >= 2 || (continued >= 1 && line.contains(" Sent: ")) {
                let underscores = index > 0 && lines[index - 1].trim().starts_with("____");
                return Some(if underscores { index - 1 } else { index });
            }
            // Outlook's one-line form: "From: a Sent: b To: c Subject: d".
            let lower = line.to_lowercase();
            if lower.contains(" sent: ") && lower.contains(" subject: ") {
                return Some(index);
            }
        }
    }
    None
}

/// The reply without its quoted history; text without recognisable quotes comes back unchanged
/// (trimmed at the end).
pub fn strip_quotes(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.split('\n').collect();
    let kept: Vec<&str> = match find_splitter(&lines) {
        Some(split) if lines[..split].iter().any(|line| !is_blank(line) && !is_quoted(line)) => {
            strip_trailing_quote(&lines[..split])
        }
        Some(split) => {
            // Bottom-posted: the quote comes first; keep what follows it.
            let after: Vec<&str> = lines[split + 1..]
                .iter()
                .copied()
                .skip_while(|line| !is_blank(line) && !is_quoted(line))
                .filter(|line| !is_quoted(line))
                .collect();
            let rest: Vec<&str> = lines[split..].iter().copied().skip(1).filter(|line| !is_quoted(line)).collect();
            if after.iter().any(|line| !is_blank(line)) { after } else { rest }
        }
        None => strip_trailing_quote(&lines),
    };
    let joined = kept.join("\n");
    let trimmed = joined.trim_matches('\n').trim_end();
    trimmed.to_owned()
}

/// Drops a `>`-quoted block after the last written line, and one before the first.
fn strip_trailing_quote<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let Some(last_text) = lines.iter().rposition(|line| !is_blank(line) && !is_quoted(line)) else {
        return vec![];
    };
    let first_text = lines.iter().position(|line| !is_blank(line) && !is_quoted(line)).unwrap_or(0);
    let leading_quote = lines[..first_text].iter().any(|line| is_quoted(line));
    let start = if leading_quote { first_text } else { 0 };
    lines[start..=last_text].to_vec()
}

fn is_signature_start(line: &str) -> bool {
    let trimmed = line.trim_end();
    if trimmed == "--" || trimmed == "-- " || trimmed == "__" || trimmed == "—" {
        return true;
    }
    let lower = trimmed.trim_start().to_lowercase();
    let mobile = ["sent from my ", "sent from ", "sent with ", "get outlook for ", "发自我的", "从我的", "來自我的"];
    if mobile.iter().any(|prefix| lower.starts_with(prefix)) && lower.split_whitespace().count() <= 8 {
        return true;
    }
    // "-Abhishek": a dash right before a name.
    let mut chars = trimmed.chars();
    chars.next() == Some('-')
        && chars.next().is_some_and(char::is_alphabetic)
        && trimmed.split_whitespace().count() <= 3
}

/// The text without a trailing signature (after `-- `, `__`, `-Name`, or a "Sent from my ..." line near
/// the end).
pub fn strip_signature(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    for (index, line) in lines.iter().enumerate() {
        if index == 0 || !is_signature_start(line) {
            continue;
        }
        let remaining = lines[index + 1..].iter().filter(|line| !is_blank(line)).count();
        let written_before = lines[..index].iter().any(|line| !is_blank(line));
        if written_before && remaining <= 12 {
            return lines[..index].join("\n").trim_end().to_owned();
        }
    }
    text.trim_end().to_owned()
}

/// What an agent should see of a reply: no quoted history, no signature. When stripping would leave
/// nothing (a forward, a message that is all quote), the whole text is kept.
pub fn visible_reply(text: &str) -> String {
    let visible = strip_signature(&strip_quotes(text));
    if visible.trim().is_empty() { text.trim().to_owned() } else { visible.trim().to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(visible_reply(input), expected, "input: {input:?}");
    }

    #[test]
    fn common_clients_are_stripped() {
        check("Thanks!\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan <m@x.com> wrote:\n\n> Hi\n", "Thanks!");
        check(
            "好的，谢谢\n\n-----原始邮件-----\n发件人: 客服 <support@kefu.example>\n发送时间: 2026年1月2日\n主题: 发票\n\n您好",
            "好的，谢谢",
        );
        check(
            "收到\n\n------------------ 原始邮件 ------------------\n发件人: \"客服\"<support@kefu.example>;\n发送时间: 2026年1月2日(星期五) 上午10:00\n收件人: \"李雷\"<li@example.com>;\n主题: 发票\n\n您好",
            "收到",
        );
        check("Fine.\n\nFrom: Bob\nSent: Monday\nTo: Alice\nSubject: Hi\n\nHello", "Fine.");
        check("On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi\nHello", "Hello");
        check("Hello\n> On 22 Aug 2015, at 19:21, Adam wrote:\n>\n> Hi there!", "Hello");
        check(
            "在 2026年1月2日 10:00，客服 <support@kefu.example> 写道：\n> 您好\n",
            "在 2026年1月2日 10:00，客服 <support@kefu.example> 写道：\n> 您好",
        );
        check("Ok\n\n在 2026年1月2日 10:00，客服 <support@kefu.example> 写道：\n> 您好\n", "Ok");
    }

    #[test]
    fn signatures_are_cut() {
        check("Hello\n\n-- \nAlex\nACME", "Hello");
        check("Hello\n\nSent from my iPhone", "Hello");
        check("Hello\n\n发自我的iPhone", "Hello");
        assert_eq!(strip_quotes("Hello\n\nSent from my iPhone"), "Hello\n\nSent from my iPhone");
    }
}
