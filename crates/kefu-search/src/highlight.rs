//! Highlighted snippets: the passage of a title or body with the most (and rarest) query words, words in
//! `<b>`, everything HTML-escaped.
//!
//! Our own rather than tantivy's `SnippetGenerator`, which assumes token offsets never go backwards. Jieba's
//! search mode emits the parts of a compound before the compound (`中华`, `人民` ... then `中华人民共和国`;
//! `top`, `ups` then `top-ups`), and where a passage boundary fell between them tantivy computed a negative
//! offset and panicked slicing the text (seen on banking77 FAQ text, issue 6). Here every range comes from a
//! token's own offsets, checked against the text, so hostile text gives a plain snippet, never a panic.

use std::collections::HashMap;

use tantivy::tokenizer::{Token, TokenStream};

use crate::analysis::words;

/// The analyzed query words to highlight, each with a weight (rarer words weigh more).
#[derive(Debug, Clone, Default)]
pub(crate) struct Highlighter {
    terms: HashMap<String, f32>,
}

/// A token's byte range in the text, and its weight if it is a query word.
#[derive(Debug, Clone, Copy)]
struct Span {
    from: usize,
    to: usize,
    weight: Option<f32>,
}

impl Highlighter {
    /// Highlights `terms` (analyzed words and their weights).
    pub(crate) fn new(terms: HashMap<String, f32>) -> Highlighter {
        Highlighter { terms }
    }

    /// The passage of at most `max_chars` characters holding the most weight of query words, as HTML; `None`
    /// when no query word occurs in `text`. A passage starts at the beginning of the text or at a query word,
    /// and ends at the end of a word.
    pub(crate) fn snippet(&self, text: &str, max_chars: usize) -> Option<String> {
        if self.terms.is_empty() {
            return None;
        }
        let mut spans = Vec::new();
        let mut analyzer = words();
        let mut stream = analyzer.token_stream(text);
        stream.process(&mut |token: &Token| {
            if token.offset_from < token.offset_to && text.get(token.offset_from..token.offset_to).is_some() {
                let weight = self.terms.get(&token.text).copied();
                spans.push(Span { from: token.offset_from, to: token.offset_to, weight });
            }
        });
        let mut matches: Vec<Span> = spans.iter().copied().filter(|span| span.weight.is_some()).collect();
        if matches.is_empty() {
            return None;
        }
        matches.sort_by_key(|span| (span.from, span.to));
        let end_of =
            |start: usize| text[start..].char_indices().nth(max_chars).map_or(text.len(), |(offset, _)| start + offset);
        // Candidate starts: the text's beginning, then each match. Both the starts and their limits only grow,
        // so one pass adds the matches entering each window and drops those left behind.
        let mut best = (0, end_of(0), f32::MIN);
        let (mut first, mut next, mut weight) = (0, 0, 0.0_f32);
        let starts = std::iter::once(0).chain(matches.iter().map(|span| span.from));
        for (index, start) in starts.enumerate() {
            // A window from a match holds at least that match, however small `max_chars` is.
            let own_end = if index == 0 { 0 } else { matches[index - 1].to };
            let limit = end_of(start).max(own_end);
            while next < matches.len() && matches[next].to <= limit {
                weight += matches[next].weight.unwrap_or_default();
                next += 1;
            }
            while first < next && matches[first].from < start {
                weight -= matches[first].weight.unwrap_or_default();
                first += 1;
            }
            if weight > best.2 + f32::EPSILON {
                best = (start, limit, weight);
            }
        }
        let (start, limit, _) = best;
        // End with the text when it fits (keeping a title's closing `?`), else on the last whole word inside
        // the limit.
        let end = if limit >= text.len() {
            text.len()
        } else {
            spans
                .iter()
                .filter(|span| span.from >= start && span.to <= limit)
                .map(|span| span.to)
                .max()
                .unwrap_or(limit)
        };
        let mut html = String::new();
        let mut at = start;
        for span in merged(matches.iter().filter(|span| span.from >= start && span.to <= end)) {
            html.push_str(&escape(&text[at..span.0]));
            html.push_str("<b>");
            html.push_str(&escape(&text[span.0..span.1]));
            html.push_str("</b>");
            at = span.1;
        }
        html.push_str(&escape(&text[at..end]));
        Some(html)
    }
}

/// Merges overlapping and adjacent ranges of spans sorted by start.
fn merged<'a>(spans: impl Iterator<Item = &'a Span>) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for span in spans {
        match ranges.last_mut() {
            Some(last) if span.from <= last.1 => last.1 = last.1.max(span.to),
            _ => ranges.push((span.from, span.to)),
        }
    }
    ranges
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn highlighter(words: &[&str]) -> Highlighter {
        Highlighter::new(words.iter().map(|word| ((*word).to_owned(), 1.0)).collect())
    }

    #[test]
    fn words_are_bold_and_text_escaped() {
        let html = highlighter(&["退款"]).snippet("<如何> 申请退款 & 发票", 200);
        assert_eq!(html.as_deref(), Some("&lt;如何&gt; 申请<b>退款</b> &amp; 发票"));
        assert_eq!(highlighter(&["refund"]).snippet("Refunds", 200).as_deref(), Some("<b>Refunds</b>"));
        assert_eq!(highlighter(&["发票"]).snippet("退款", 200), None);
        assert_eq!(Highlighter::default().snippet("退款", 200), None);
    }

    #[test]
    fn compounds_whose_parts_come_first_do_not_break_passages() {
        // Jieba's search mode gives `top`, `ups`, then `top-ups`, and the parts of 中华人民共和国 before it.
        let filler = "Fees apply. ".repeat(14);
        for text in [
            format!("{filler}Are there fees for top-ups? {filler}中华人民共和国 top-ups"),
            format!("中华人民共和国{filler}top-ups"),
            "top-ups".to_owned(),
        ] {
            for max_chars in [1, 5, 10, 150, 200] {
                let html = highlighter(&["top", "up", "人民", "中华人民共和国"]).snippet(&text, max_chars);
                assert!(html.as_deref().is_some_and(|html| html.contains("<b>")), "{max_chars}: {html:?}");
            }
        }
    }

    #[test]
    fn the_passage_with_the_most_words_wins() {
        let text = format!("退款 {} 发票 发票 电子发票", "其他内容。".repeat(60));
        let html = highlighter(&["发票", "电子"]).snippet(&text, 20).unwrap_or_default();
        assert!(html.starts_with("<b>发票</b> <b>发票</b>"), "{html}");
        let whole = highlighter(&["退款"]).snippet("如何申请退款", usize::MAX).unwrap_or_default();
        assert_eq!(whole, "如何申请<b>退款</b>");
        let title = highlighter(&["refund"]).snippet("How do I get a refund?", 200).unwrap_or_default();
        assert_eq!(title, "How do I get a <b>refund</b>?", "a text that fits keeps its closing punctuation");
    }
}
