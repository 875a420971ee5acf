//! The text analyzers: Chinese-aware words (`kefu_words`) and 1-2 character grams (`kefu_grams`), both on
//! text folded from Traditional to Simplified Chinese.

use tantivy::tokenizer::{
    Language, LowerCaser, NgramTokenizer, RemoveLongFilter, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer,
};
use tantivy_jieba::JiebaTokenizer;

/// The analyzer name of word fields.
pub const WORDS: &str = "kefu_words";
/// The analyzer name of gram fields.
pub const GRAMS: &str = "kefu_grams";

/// Folds Traditional Chinese to Simplified, keeping byte offsets valid: when folding changes the byte length
/// (it never does for the characters fast2s maps, but text is hostile), the original text is used.
fn fold(text: &str) -> String {
    let folded = fast2s::convert(text);
    if folded.len() == text.len() { folded } else { text.to_owned() }
}

/// A tokenizer that folds the text before handing it to `inner`, and drops the tokens made only of spaces
/// and punctuation.
#[derive(Clone)]
pub struct Folding<T> {
    inner: T,
    buffer: String,
}

impl<T: Tokenizer> Tokenizer for Folding<T> {
    type TokenStream<'a> = WordsOnly<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        self.buffer = fold(text);
        WordsOnly(self.inner.token_stream(&self.buffer))
    }
}

/// Skips tokens without a single letter or digit (in any script).
pub struct WordsOnly<S>(S);

impl<S: TokenStream> TokenStream for WordsOnly<S> {
    fn advance(&mut self) -> bool {
        while self.0.advance() {
            if self.0.token().text.chars().any(char::is_alphanumeric) {
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.0.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.0.token_mut()
    }
}

/// Words: jieba segmentation (search mode) of folded text, lower-cased, English-stemmed; punctuation, spaces and
/// very long tokens dropped.
pub fn words() -> TextAnalyzer {
    TextAnalyzer::builder(Folding { inner: JiebaTokenizer::new(), buffer: String::new() })
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// Grams of one and two characters of folded, lower-cased text, for one-character queries, names, email
/// fragments and numbers.
pub fn grams() -> TextAnalyzer {
    match NgramTokenizer::new(1, 2, false) {
        Ok(ngram) => TextAnalyzer::builder(Folding { inner: ngram, buffer: String::new() }).filter(LowerCaser).build(),
        // 1 and 2 are valid gram sizes; this arm only satisfies the type.
        Err(_) => TextAnalyzer::from(tantivy::tokenizer::RawTokenizer::default()),
    }
}

/// The distinct grams of a query: its single character for a one-character query, otherwise its 2-grams.
pub fn query_grams(text: &str) -> Vec<String> {
    let folded = fold(&text.to_lowercase());
    let chars: Vec<char> = folded.chars().filter(|c| !c.is_whitespace()).collect();
    let mut grams: Vec<String> = match chars.len() {
        0 => vec![],
        1 => vec![chars[0].to_string()],
        _ => chars.windows(2).map(|pair| pair.iter().collect()).collect(),
    };
    grams.sort();
    grams.dedup();
    grams
}

/// The tokens the word analyzer makes of a text (for tests and the search log).
pub fn word_tokens(text: &str) -> Vec<String> {
    let mut analyzer = words();
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    stream.process(&mut |token: &Token| tokens.push(token.text.clone()));
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_is_segmented_and_folded_and_english_stemmed() {
        assert!(word_tokens("我想申请退款").contains(&"退款".to_owned()));
        assert!(word_tokens("我想申請退款").contains(&"退款".to_owned()), "{:?}", word_tokens("我想申請退款"));
        assert!(word_tokens("發票").contains(&"发票".to_owned()), "{:?}", word_tokens("發票"));
        assert_eq!(word_tokens("Refunds refunded"), ["refund", "refund"]);
        assert_eq!(query_grams("退"), ["退"]);
        assert_eq!(query_grams("王芳"), ["王芳"]);
        assert_eq!(query_grams("Wang"), ["an", "ng", "wa"]);
    }
}
