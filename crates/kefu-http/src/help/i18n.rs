//! The help center's interface strings in English, Simplified and Traditional Chinese: one table, every key
//! in all three languages by construction, handed to the templates as `t`. `{name}` placeholders are filled
//! by [`fill`] before a string reaches a template.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// `(key, en, zh-CN, zh-TW)`.
const STRINGS: &[(&str, &str, &str, &str)] = &[
    ("help_center", "Help Center", "帮助中心", "幫助中心"),
    ("skip_to_content", "Skip to content", "跳到正文", "跳到正文"),
    ("search", "Search", "搜索", "搜尋"),
    ("search_placeholder", "Search for answers…", "搜索问题的答案…", "搜尋問題的答案…"),
    ("submit_request", "Submit a request", "提交请求", "提交請求"),
    ("my_requests", "My requests", "我的请求", "我的請求"),
    ("sign_in", "Sign in", "登录", "登入"),
    ("sign_out", "Sign out", "退出登录", "登出"),
    ("home", "Home", "首页", "首頁"),
    ("language", "Language", "语言", "語言"),
    ("account", "Account", "账户", "帳戶"),
    ("powered_by", "Powered by Kefu", "由 Kefu 提供支持", "由 Kefu 提供支援"),
    ("see_all", "See all {n} articles", "查看全部 {n} 篇文章", "查看全部 {n} 篇文章"),
    ("article_count", "{n} articles", "{n} 篇文章", "{n} 篇文章"),
    ("no_articles", "There are no articles here yet.", "这里还没有文章。", "這裡還沒有文章。"),
    ("other_articles", "More articles", "更多文章", "更多文章"),
    ("cta_title", "Can't find what you need?", "没有找到答案？", "沒有找到答案？"),
    ("cta_text", "Our team is happy to help.", "我们的客服团队随时为您服务。", "我們的客服團隊隨時為您服務。"),
    ("updated", "Updated {date}", "更新于 {date}", "更新於 {date}"),
    ("also_in", "Also available in", "其他语言版本", "其他語言版本"),
    ("in_this_section", "Articles in this section", "本栏目中的文章", "本欄目中的文章"),
    ("was_helpful", "Was this article helpful?", "这篇文章对您有帮助吗？", "這篇文章對您有幫助嗎？"),
    ("yes", "Yes", "有帮助", "有幫助"),
    ("no", "No", "没帮助", "沒幫助"),
    ("feedback_comment", "Tell us more (optional)", "告诉我们更多（选填）", "告訴我們更多（選填）"),
    ("feedback_thanks", "Thank you for your feedback!", "感谢您的反馈！", "感謝您的回饋！"),
    (
        "votes",
        "{yes} of {total} found this helpful",
        "{total} 人中有 {yes} 人觉得有帮助",
        "{total} 人中有 {yes} 人覺得有幫助",
    ),
    (
        "deflect_prompt",
        "Did this article answer your question?",
        "这篇文章解决了您的问题吗？",
        "這篇文章解決了您的問題嗎？",
    ),
    ("deflect_button", "Yes, this answered my question", "是的，问题已解决", "是的，問題已解決"),
    ("deflect_thanks_title", "Glad we could help", "很高兴能帮到您", "很高興能幫到您"),
    (
        "deflect_thanks",
        "You don't need to submit a request. Come back any time.",
        "您无需再提交请求。有需要随时回来。",
        "您無需再提交請求。有需要隨時回來。",
    ),
    ("back_home", "Back to the help center", "返回帮助中心", "返回幫助中心"),
    ("results_for", "Results for “{q}”", "“{q}”的搜索结果", "「{q}」的搜尋結果"),
    ("result_count", "{n} results", "{n} 条结果", "{n} 筆結果"),
    (
        "no_results",
        "Nothing matched. Try other words, or submit a request and we will help.",
        "没有找到相关文章。请换个说法试试，或提交请求，我们来帮您。",
        "沒有找到相關文章。請換個說法試試，或提交請求，我們來幫您。",
    ),
    ("search_empty", "Type what you are looking for.", "请输入要搜索的内容。", "請輸入要搜尋的內容。"),
    ("your_name", "Your name", "您的姓名", "您的姓名"),
    ("your_email", "Your email address", "您的邮箱", "您的電子郵件"),
    ("subject", "Subject", "主题", "主旨"),
    ("description", "Description", "问题描述", "問題描述"),
    (
        "description_hint",
        "Tell us what happened and what you expected. The more we know, the faster we can help.",
        "请描述发生了什么以及您的预期，信息越详细，我们处理得越快。",
        "請描述發生了什麼以及您的預期，資訊越詳細，我們處理得越快。",
    ),
    ("category", "What is it about?", "问题类型", "問題類型"),
    ("choose_category", "Choose…", "请选择…", "請選擇…"),
    ("continue", "Update the form", "更新表单", "更新表單"),
    ("attachments", "Attachments", "附件", "附件"),
    (
        "attachments_hint",
        "Up to {n} files, {size} each.",
        "最多 {n} 个文件，每个不超过 {size}。",
        "最多 {n} 個檔案，每個不超過 {size}。",
    ),
    ("send", "Submit", "提交", "提交"),
    ("required", "required", "必填", "必填"),
    (
        "suggestions",
        "These articles may answer your question",
        "这些文章或许能解答您的问题",
        "這些文章或許能解答您的問題",
    ),
    ("fix_errors", "Please check the form:", "请检查以下内容：", "請檢查以下內容："),
    ("error_name", "Enter your name.", "请填写姓名。", "請填寫姓名。"),
    ("error_email", "Enter a valid email address.", "请填写有效的邮箱地址。", "請填寫有效的電子郵件地址。"),
    ("error_subject", "Enter a subject.", "请填写主题。", "請填寫主旨。"),
    ("error_description", "Describe what you need.", "请描述您的问题。", "請描述您的問題。"),
    ("error_missing_fields", "Fill in: {fields}", "请填写：{fields}", "請填寫：{fields}"),
    ("error_field", "{field}: {detail}", "{field}：{detail}", "{field}：{detail}"),
    ("error_category", "Choose a category from the list.", "请从列表中选择问题类型。", "請從列表中選擇問題類型。"),
    ("error_too_large", "A file is larger than {size}.", "有文件超过了 {size}。", "有檔案超過了 {size}。"),
    ("error_too_many_files", "Attach at most {n} files.", "最多只能上传 {n} 个文件。", "最多只能上傳 {n} 個檔案。"),
    ("error_password", "A password has at least 10 characters.", "密码至少 10 个字符。", "密碼至少 10 個字元。"),
    ("error_password_match", "The two passwords differ.", "两次输入的密码不一致。", "兩次輸入的密碼不一致。"),
    ("error_credentials", "The email or password is wrong.", "邮箱或密码不正确。", "電子郵件或密碼不正確。"),
    ("error_reply", "Write a reply or attach a file.", "请填写回复内容或添加附件。", "請填寫回覆內容或加入附件。"),
    ("request_received_title", "Request received", "请求已提交", "請求已提交"),
    ("request_received", "Your request #{n} has been received.", "您的请求 #{n} 已收到。", "您的請求 #{n} 已收到。"),
    (
        "request_received_more",
        "Our team will answer as soon as possible. Sign in with your email address to follow your requests.",
        "客服会尽快回复您。使用您的邮箱登录即可查看请求进度。",
        "客服會盡快回覆您。使用您的電子郵件登入即可查看請求進度。",
    ),
    ("view_request", "View your request", "查看请求", "查看請求"),
    ("sign_in_title", "Sign in", "登录", "登入"),
    ("email", "Email address", "邮箱", "電子郵件"),
    ("password", "Password", "密码", "密碼"),
    ("password_again", "Password again", "再次输入密码", "再次輸入密碼"),
    ("sign_in_password", "Sign in with your password", "用密码登录", "用密碼登入"),
    ("sign_in_link", "Or get a sign-in link by email", "或通过邮件获取登录链接", "或透過電子郵件取得登入連結"),
    ("send_link", "Email me a link", "发送登录链接", "寄送登入連結"),
    ("forgot_password", "Set or reset your password", "设置或重置密码", "設定或重設密碼"),
    ("password_title", "Set your password", "设置密码", "設定密碼"),
    (
        "password_intro",
        "We will email you a link to set a new password.",
        "我们会向您发送一封邮件，通过其中的链接设置新密码。",
        "我們會寄送一封郵件給您，透過其中的連結設定新密碼。",
    ),
    ("send_password_link", "Email me a link", "发送设置链接", "寄送設定連結"),
    ("save_password", "Save and sign in", "保存并登录", "儲存並登入"),
    ("check_email_title", "Check your email", "请查收邮件", "請查收郵件"),
    (
        "check_email",
        "If {email} belongs to a customer account, we have sent it a link. The link works once and expires in {minutes} minutes.",
        "如果 {email} 对应一个客户账户，我们已向其发送链接。链接只能使用一次，{minutes} 分钟后失效。",
        "如果 {email} 對應一個客戶帳戶，我們已寄送連結。連結只能使用一次，{minutes} 分鐘後失效。",
    ),
    ("confirm_sign_in", "Sign in as {email}", "以 {email} 的身份登录", "以 {email} 的身分登入"),
    ("link_invalid_title", "This link no longer works", "链接已失效", "連結已失效"),
    (
        "link_invalid",
        "The link was already used or has expired. Ask for a new one.",
        "链接已被使用或已过期，请重新获取。",
        "連結已被使用或已過期，請重新取得。",
    ),
    ("new_link", "Get a new link", "重新获取链接", "重新取得連結"),
    ("requests_title", "My requests", "我的请求", "我的請求"),
    ("no_requests", "You have no requests yet.", "您还没有提交过请求。", "您還沒有提交過請求。"),
    ("older", "Older requests", "更早的请求", "更早的請求"),
    ("request_number", "Request #{n}", "请求 #{n}", "請求 #{n}"),
    ("status", "Status", "状态", "狀態"),
    ("created", "Created", "创建时间", "建立時間"),
    ("last_activity", "Last activity", "最近更新", "最近更新"),
    ("status_open", "Open", "处理中", "處理中"),
    ("status_pending", "Awaiting your reply", "等待您回复", "等待您回覆"),
    ("status_solved", "Solved", "已解决", "已解決"),
    ("status_closed", "Closed", "已关闭", "已關閉"),
    ("you", "You", "您", "您"),
    ("support", "Support", "客服", "客服"),
    ("reply", "Add a reply", "补充回复", "補充回覆"),
    ("send_reply", "Send", "发送", "送出"),
    (
        "request_closed",
        "This request is closed. Submit a new request if you need more help.",
        "此请求已关闭。如需进一步帮助，请提交新的请求。",
        "此請求已關閉。如需進一步協助，請提交新的請求。",
    ),
    ("not_found_title", "Page not found", "页面不存在", "頁面不存在"),
    (
        "not_found",
        "The page you asked for does not exist or has moved.",
        "您访问的页面不存在或已被移动。",
        "您造訪的頁面不存在或已被移動。",
    ),
    ("article_elsewhere", "This article is available in:", "这篇文章有以下语言版本：", "這篇文章有以下語言版本："),
    ("rate_limited_title", "Too many attempts", "操作过于频繁", "操作過於頻繁"),
    (
        "rate_limited",
        "Please wait {seconds} seconds, then try again.",
        "请等待 {seconds} 秒后再试。",
        "請等待 {seconds} 秒後再試。",
    ),
    ("form_expired_title", "This form has expired", "表单已过期", "表單已過期"),
    (
        "form_expired",
        "For your security, go back, reload the page and send it again.",
        "为了您的安全，请返回并刷新页面后重新提交。",
        "為了您的安全，請返回並重新整理頁面後再送出。",
    ),
    ("bad_request_title", "We could not accept that", "无法处理该请求", "無法處理該請求"),
    ("too_large_title", "Too large", "内容过大", "內容過大"),
    ("error_title", "Something went wrong", "出错了", "出錯了"),
    (
        "server_error",
        "Something went wrong on our side. Please try again in a moment.",
        "服务器出现问题，请稍后再试。",
        "伺服器出現問題，請稍後再試。",
    ),
    (
        "spam_rejected",
        "Your request looked automated and was not sent.",
        "您的请求疑似自动提交，未被发送。",
        "您的請求疑似自動提交，未被送出。",
    ),
];

/// The locales the help center speaks, with their names in their own language and their Open Graph form.
pub const LOCALES: &[(&str, &str, &str)] =
    &[("zh-CN", "简体中文", "zh_CN"), ("zh-TW", "繁體中文", "zh_TW"), ("en", "English", "en_US")];

type Catalog = BTreeMap<&'static str, &'static str>;

static CATALOGS: LazyLock<[Catalog; 3]> = LazyLock::new(|| {
    let mut catalogs: [Catalog; 3] = Default::default();
    for (key, en, zh_cn, zh_tw) in STRINGS {
        catalogs[0].insert(key, en);
        catalogs[1].insert(key, zh_cn);
        catalogs[2].insert(key, zh_tw);
    }
    catalogs
});

/// The strings of a locale (`zh-CN`, `zh-TW`; anything else is English).
pub fn catalog(locale: &str) -> &'static Catalog {
    match locale {
        "zh-CN" => &CATALOGS[1],
        "zh-TW" => &CATALOGS[2],
        _ => &CATALOGS[0],
    }
}

/// One string; the key itself if it is missing (a test keeps that from happening).
pub fn text(locale: &str, key: &str) -> &'static str {
    catalog(locale).get(key).copied().unwrap_or("")
}

/// A string with its `{name}` placeholders filled.
pub fn fill(locale: &str, key: &str, values: &[(&str, &str)]) -> String {
    let mut filled = text(locale, key).to_owned();
    for (name, value) in values {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_placeholders_agree_across_languages() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, en, zh_cn, zh_tw) in STRINGS {
            assert!(seen.insert(key), "{key} twice");
            let placeholders = |text: &str| {
                let mut names: Vec<String> =
                    text.split('{').skip(1).filter_map(|part| part.split_once('}')).map(|(n, _)| n.into()).collect();
                names.sort();
                names
            };
            assert_eq!(placeholders(en), placeholders(zh_cn), "{key}");
            assert_eq!(placeholders(en), placeholders(zh_tw), "{key}");
        }
        assert_eq!(fill("zh-CN", "result_count", &[("n", "3")]), "3 条结果");
        assert_eq!(text("fr", "search"), "Search");
    }
}
