//! Generated customer mail for crash tests and benchmarks (feature `samples`); Kefu itself never uses it.
//!
//! [`generate`] returns a deterministic mix that looks like a Chinese support inbox: new requests and
//! replies (In-Reply-To and References pointing at earlier samples, with quoted history in the style of
//! QQ Mail/Foxmail or Gmail), bodies and encoded-word headers in GB2312 (GBK bytes), GBK, GB18030, Big5 and
//! UTF-8, sent 8bit, base64 or quoted-printable, some multipart/alternative with HTML, some with an
//! attachment named per RFC 2231, some with a Cc. Senders repeat (about three messages per customer).
//!
//! ```
//! let samples = kefu_mail::samples::generate(50, 7, "kefu.example");
//! assert_eq!(samples.len(), 50);
//! let mail = kefu_mail::parse::parse(&samples[0].raw).unwrap();
//! assert_eq!(mail.message_id.as_deref(), Some(samples[0].message_id.as_str()));
//! ```

use base64::Engine;

/// One generated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Its Message-ID, without angle brackets.
    pub message_id: String,
    /// The raw RFC 5322 bytes (CRLF line ends).
    pub raw: Vec<u8>,
    /// The Message-ID of the sample it replies to, if it is a reply.
    pub in_reply_to: Option<String>,
}

/// A tiny deterministic generator (SplitMix64): the same seed gives the same messages everywhere.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const SURNAMES: &[&str] = &["李", "王", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];
const GIVEN: &[&str] = &["雷", "芳", "伟", "娜", "敏", "静", "强", "磊", "洋", "艳"];
const SUBJECTS: &[&str] = &[
    "发票问题",
    "退款申请：订单号",
    "无法登录账户",
    "物流一直没有更新",
    "商品质量投诉",
    "修改收货地址",
    "会员续费失败",
    "Order not delivered",
    "Refund request",
];
const SENTENCES: &[&str] = &[
    "您好，我的发票还没有收到，请帮忙查一下。",
    "订单已经付款三天了，物流信息一直没有更新。",
    "请尽快处理退款，谢谢！",
    "我无法登录账户，提示密码错误，但我没有改过密码。",
    "收到的商品有破损，附件是照片。",
    "麻烦把收货地址改成北京市朝阳区建国路 88 号。",
    "会员续费时扣款成功但是会员没有延长。",
    "Hello, my order still has not arrived. Could you check the tracking number?",
    "Please refund the second item, it was the wrong size.",
    "客服您好，请问这个问题什么时候能解决？",
];
/// Charsets whose bytes encoding_rs writes; `gb2312` is written with GBK bytes, as real clients do.
const CHARSETS: &[(&str, &encoding_rs::Encoding)] = &[
    ("gb2312", encoding_rs::GBK),
    ("GBK", encoding_rs::GBK),
    ("GB18030", encoding_rs::GB18030),
    ("big5", encoding_rs::BIG5),
    ("utf-8", encoding_rs::UTF_8),
    ("utf-8", encoding_rs::UTF_8),
];

/// Simplified -> Traditional for the characters the samples use (Big5 has no simplified characters).
const TRADITIONAL: &str = "发發问問题題请請货貨单單号號没沒帮幫经經录錄码碼错錯误誤过過处處谢謝费費会會员員败敗质質诉訴账賬户戶\
无無续續订訂复覆时時么麼这這个個决決们們预預计計内內图圖东東坏壞损損长長钱錢认認营營业業维維护護态態页頁据據阳陽区區车車边邊让讓还還话話说說样樣点點实實现現发發觉覺头頭两兩";

fn to_traditional(text: &str) -> String {
    let pairs: Vec<char> = TRADITIONAL.chars().collect();
    text.chars().map(|c| pairs.chunks(2).find(|pair| pair[0] == c).map_or(c, |pair| pair[1])).collect()
}

fn encode_in(text: &str, encoding: &'static encoding_rs::Encoding) -> Vec<u8> {
    let text = if encoding == encoding_rs::BIG5 { to_traditional(text) } else { text.to_owned() };
    let (bytes, _, _) = encoding.encode(&text);
    bytes.into_owned()
}

fn encoded_word(charset: &str, encoding: &'static encoding_rs::Encoding, text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    let bytes = encode_in(text, encoding);
    format!("=?{charset}?B?{}?=", base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for &byte in bytes {
        let piece = match byte {
            b'\n' => {
                out.push_str("\r\n");
                line = 0;
                continue;
            }
            b'\r' => continue,
            b'=' => "=3D".to_owned(),
            33..=126 | b' ' => char::from(byte).to_string(),
            _ => format!("={byte:02X}"),
        };
        if line + piece.len() > 73 {
            out.push_str("=\r\n");
            line = 0;
        }
        line += piece.len();
        out.push_str(&piece);
    }
    out.push_str("\r\n");
    out
}

/// A body part's headers and encoded content, in one of the transfer encodings.
fn body_part(content_type: &str, charset: &str, bytes: &[u8], style: usize) -> String {
    match style {
        0 => format!(
            "Content-Type: {content_type}; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(bytes)
        ),
        1 => format!(
            "Content-Type: {content_type}; charset={charset}\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}",
            quoted_printable(bytes)
        ),
        _ => {
            // 8bit: the bytes as they are (CRLF line ends).
            let text = bytes.split(|&b| b == b'\n').map(|line| line.strip_suffix(b"\r").unwrap_or(line));
            let mut part =
                format!("Content-Type: {content_type}; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
                    .into_bytes();
            for line in text {
                part.extend_from_slice(line);
                part.extend_from_slice(b"\r\n");
            }
            // Non-UTF-8 bytes cannot live in a String: keep them as base64 instead.
            String::from_utf8(part).unwrap_or_else(|_| body_part(content_type, charset, bytes, 0))
        }
    }
}

/// Generates `count` messages to `support@<domain>` from the seed; equal seeds give equal messages.
pub fn generate(count: usize, seed: u64, domain: &str) -> Vec<Sample> {
    let mut dice = Dice(seed);
    let customers = (count / 3).max(1);
    let mut samples: Vec<Sample> = Vec::with_capacity(count);
    let mut subjects: Vec<String> = Vec::with_capacity(count);
    for n in 0..count {
        let customer = dice.below(customers);
        let name = format!("{}{}", dice.pick(SURNAMES), dice.pick(GIVEN));
        let (mut charset, mut encoding) = dice.pick(CHARSETS);
        let reply_to = (n > 0 && dice.below(10) < 3).then(|| dice.below(n));
        let subject = match reply_to {
            Some(parent) => format!("回复: {}", subjects[parent]),
            None => format!("{} {}", dice.pick(SUBJECTS), 10_000 + dice.below(90_000)),
        };
        let mut text = String::new();
        for _ in 0..1 + dice.below(4) {
            text.push_str(dice.pick(SENTENCES));
            text.push('\n');
        }
        if let Some(parent) = reply_to {
            if dice.below(2) == 0 {
                text.push_str(&format!(
                    "\n-----原始邮件-----\n发件人: 客服 <support@{domain}>\n发送时间: 2026年11月20日 10:{:02}\n主题: {}\n\n",
                    dice.below(60),
                    subjects[parent]
                ));
            } else {
                text.push_str("\nOn Fri, Nov 20, 2026 at 10:00 AM Support <support@example> wrote:\n");
            }
            for _ in 0..2 + dice.below(6) {
                text.push_str("> ");
                text.push_str(dice.pick(SENTENCES));
                text.push('\n');
            }
        }
        let fits = |text: &str| !encoding.encode(&to_traditional(text)).2;
        if encoding == encoding_rs::BIG5 && !(fits(&text) && fits(&subject) && fits(&name)) {
            (charset, encoding) = ("utf-8", encoding_rs::UTF_8);
        }
        let message_id = format!("s{seed}-{n}.{}@mail.example.net", dice.next() % 1_000_000);
        let mut headers = format!(
            "Return-Path: <customer{customer}@example.net>\r\n\
             Received: from mx.example.net (mx.example.net [192.0.2.{}]) by mx.{domain} with ESMTPS; Fri, 20 Nov 2026 10:{:02}:{:02} +0800\r\n\
             From: {} <customer{customer}@example.net>\r\nTo: support@{domain}\r\n",
            dice.below(250),
            dice.below(60),
            dice.below(60),
            encoded_word(charset, encoding, &name),
        );
        if dice.below(20) == 0 {
            headers.push_str(&format!("Cc: colleague{}@example.net\r\n", dice.below(customers)));
        }
        headers.push_str(&format!(
            "Subject: {}\r\nDate: Fri, 20 Nov 2026 10:{:02}:{:02} +0800\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
             X-Mailer: Foxmail 7.2\r\n",
            encoded_word(charset, encoding, &subject),
            dice.below(60),
            dice.below(60),
        ));
        let in_reply_to = reply_to.map(|parent| samples[parent].message_id.clone());
        if let Some(parent) = &in_reply_to {
            headers.push_str(&format!("In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n"));
        }
        let text_bytes = encode_in(&text, encoding);
        let style = dice.below(3);
        let shape = dice.below(10);
        let body = if shape < 6 {
            body_part("text/plain", charset, &text_bytes, style)
        } else {
            let html: String = text
                .lines()
                .map(|line| format!("<p>{}</p>", line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")))
                .collect();
            let html = format!("<html><body><div style=\"font-family:微软雅黑\">{html}</div></body></html>");
            let alternative = format!(
                "Content-Type: multipart/alternative; boundary=\"alt-{n}\"\r\n\r\n--alt-{n}\r\n{}--alt-{n}\r\n{}--alt-{n}--\r\n",
                body_part("text/plain", charset, &text_bytes, style),
                body_part("text/html", charset, &encode_in(&html, encoding), (style + 1) % 3),
            );
            if shape < 9 {
                alternative
            } else {
                let filename: String =
                    encode_in("截图.png", encoding_rs::UTF_8).iter().map(|byte| format!("%{byte:02X}")).collect();
                let picture: Vec<u8> = (0..512 + dice.below(2048)).map(|_| (dice.next() & 0xff) as u8).collect();
                format!(
                    "Content-Type: multipart/mixed; boundary=\"mix-{n}\"\r\n\r\n--mix-{n}\r\n{alternative}--mix-{n}\r\n\
                     Content-Type: image/png\r\nContent-Disposition: attachment; filename*=utf-8''{filename}\r\n\
                     Content-Transfer-Encoding: base64\r\n\r\n{}--mix-{n}--\r\n",
                    base64_lines(&picture)
                )
            }
        };
        let mut raw = headers.into_bytes();
        raw.extend_from_slice(body.as_bytes());
        subjects.push(subject.trim_start_matches("回复: ").to_owned());
        samples.push(Sample { message_id, raw, in_reply_to });
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_parse_with_their_message_ids_and_decode_to_chinese() {
        let samples = generate(300, 42, "kefu.example");
        assert_eq!(samples, generate(300, 42, "kefu.example"), "deterministic");
        let mut replies = 0;
        for sample in &samples {
            let mail = crate::parse::parse(&sample.raw).expect("parses");
            assert_eq!(mail.message_id.as_deref(), Some(sample.message_id.as_str()));
            assert!(!mail.text.contains('\u{fffd}'), "undecodable text in {}", String::from_utf8_lossy(&sample.raw));
            assert!(!mail.subject.is_empty());
            if let Some(parent) = &sample.in_reply_to {
                replies += 1;
                assert!(mail.referenced_ids().contains(parent));
                assert!(!mail.reply_text.contains("> "), "quoted history stripped: {}", mail.reply_text);
            }
        }
        assert!((50..150).contains(&replies), "{replies} replies");
    }
}
