//! HTML sanitizing and file-name cleaning for everything that arrives from outside.

/// Cleans HTML for storage and display: ammonia's safe subset, links made `noopener noreferrer nofollow`.
/// Scripts, event handlers, `javascript:` URLs and styles that could escape a frame are removed.
pub fn clean_html(html: &str) -> String {
    ammonia::Builder::default().link_rel(Some("noopener noreferrer nofollow")).clean(html).to_string()
}

/// Cleans an uploaded file name: no directories, no control characters, at most 200 characters, never empty.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | ':' | '*' | '?' | '|'))
        .take(200)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() { "attachment".to_owned() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_handlers_are_removed() {
        let clean = clean_html(
            r#"<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:x">a</a><a href="https://e.com">b</a></p>"#,
        );
        assert!(!clean.contains("script"));
        assert!(!clean.contains("onclick"));
        assert!(!clean.contains("javascript"));
        assert!(clean.contains(r#"rel="noopener noreferrer nofollow""#));
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\a\\发票.pdf"), "发票.pdf");
        assert_eq!(clean_filename("a\u{0}b\n.txt"), "ab.txt");
        assert_eq!(clean_filename("..."), "attachment");
        assert_eq!(clean_filename(".htaccess"), "htaccess");
    }
}
