//! The help center and the customer portal over HTTP: pages per locale, what customers never see (drafts,
//! internal and archived articles, other customers' tickets, internal notes), clean URLs, feedback, search
//! clicks, suggestions and deflections, the request form (required fields, files, honeypot, rate limit), and
//! the portal's sign-in by emailed link and by password, which never opens the agents' API.

use std::time::Duration;

use kefu_app::kb::ArticleInput;
use kefu_domain::kb::{ArticleStatus, KbCategory, Visibility};
use kefu_domain::{Agent, AgentId, Role};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::harness::{Options, TestApp, api_test};
use crate::mail::smtp_sink;

/// An HTML response.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// The text between `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let length = text[from..].find(end)?;
    Some(&text[from..from + length])
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or_default()
    }

    fn location(&self) -> String {
        self.header("location").to_owned()
    }

    /// The form token of the first form on the page.
    fn csrf(&self) -> String {
        between(&self.body, "name=\"csrf\" value=\"", "\"").expect("a form token").to_owned()
    }

    fn error_code(&self) -> &str {
        between(&self.body, "data-error-code=\"", "\"").unwrap_or_default()
    }

    fn has(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    #[track_caller]
    fn assert_status(&self, status: u16) -> &Page {
        assert_eq!(self.status.as_u16(), status, "{}", &self.body[..self.body.len().min(3000)]);
        self
    }
}

/// A browser: keeps cookies, does not follow redirects (tests look at them).
struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser { http, base: app.base.clone() }
    }

    async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        Page { status, headers, body }
    }

    async fn get(&self, path: &str) -> Page {
        Self::read(self.http.get(format!("{}{path}", self.base)).send().await.expect("get")).await
    }

    async fn get_with(&self, path: &str, name: &str, value: &str) -> Page {
        Self::read(self.http.get(format!("{}{path}", self.base)).header(name, value).send().await.expect("get")).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        Self::read(self.http.post(format!("{}{path}", self.base)).form(fields).send().await.expect("post")).await
    }

    async fn post_multipart(&self, path: &str, form: Form) -> Page {
        Self::read(self.http.post(format!("{}{path}", self.base)).multipart(form).send().await.expect("post")).await
    }
}

/// What [`seed`] made.
struct Kb {
    admin: Agent,
    billing: i64,
    invoices: i64,
    refund: i64,
    draft: i64,
    internal: i64,
    archived: i64,
}

fn names(en: &str, zh_cn: &str, zh_tw: &str) -> std::collections::BTreeMap<String, String> {
    [("en", en), ("zh-CN", zh_cn), ("zh-TW", zh_tw)].into_iter().map(|(l, n)| (l.to_owned(), n.to_owned())).collect()
}

async fn save(
    kb_admin: &Agent,
    app: &TestApp,
    category: Option<i64>,
    status: ArticleStatus,
    visibility: Visibility,
    translations: &[(&str, &str, &str)],
) -> i64 {
    let input = ArticleInput {
        category_id: category,
        status,
        visibility,
        tags: vec![],
        review_by: None,
        translations: translations.iter().map(|(l, t, b)| (l.to_string(), t.to_string(), b.to_string())).collect(),
    };
    app.app.save_article(kb_admin, None, input).await.expect("article").id
}

/// A category with a section, two published public articles, and one each of draft, internal and archived.
async fn seed(app: &TestApp) -> Kb {
    let id = app.create_agent("kb-admin@example.com", Role::Admin, &[], false).await;
    let admin = app.app.active_agent(AgentId(id)).await.expect("agent").expect("active");
    let category = |parent_id, names, position| KbCategory { id: 0, parent_id, names, position };
    let billing =
        app.app.save_kb_category(&admin, category(None, names("Billing", "账单与付款", "帳單與付款"), 1)).await;
    let billing = billing.expect("category").id;
    let invoices =
        app.app.save_kb_category(&admin, category(Some(billing), names("Invoices", "发票", "發票"), 1)).await;
    let invoices = invoices.expect("section").id;
    let published = ArticleStatus::Published;
    let refund = save(
        &admin,
        app,
        Some(billing),
        published,
        Visibility::Public,
        &[
            (
                "en",
                "How do I get a refund?",
                "Open **Orders** and choose *Refund*. Refunds reach your card in 3-5 days.",
            ),
            ("zh-CN", "如何申请退款？", "打开**订单**页面，点击申请退款。退款三到五个工作日到账。"),
            ("zh-TW", "如何申請退款？", "打開**訂單**頁面，點擊申請退款。退款三到五個工作日到帳。"),
        ],
    )
    .await;
    save(
        &admin,
        app,
        Some(invoices),
        published,
        Visibility::Public,
        &[
            ("en", "Download an invoice", "Invoices are under **Orders › Invoice**."),
            ("zh-CN", "如何开具发票", "在订单详情页点击“开具发票”。"),
        ],
    )
    .await;
    let draft = save(
        &admin,
        app,
        Some(billing),
        ArticleStatus::Draft,
        Visibility::Public,
        &[("en", "Secret roadmap draft", "refund plans")],
    )
    .await;
    let internal = save(
        &admin,
        app,
        Some(billing),
        published,
        Visibility::Internal,
        &[("en", "Internal escalation playbook", "refund escalations")],
    )
    .await;
    let archived = save(
        &admin,
        app,
        Some(billing),
        ArticleStatus::Archived,
        Visibility::Public,
        &[("en", "Old refund policy", "refund within a year")],
    )
    .await;
    app.app.index_changes().await.expect("index");
    Kb { admin, billing, invoices, refund, draft, internal, archived }
}

const HIDDEN: [&str; 3] = ["Secret roadmap draft", "Internal escalation playbook", "Old refund policy"];

api_test!(help_center_pages_render_per_locale_and_never_show_unpublished_articles, |app: &TestApp| async move {
    let kb = seed(app).await;
    let browser = Browser::new(app);

    let picked = browser.get_with("/help", "accept-language", "zh-TW,zh;q=0.9,en;q=0.8").await;
    assert_eq!((picked.status.as_u16(), picked.location()), (303, "/help/zh-TW".to_owned()));
    assert_eq!(browser.get_with("/help", "accept-language", "fr-FR").await.location(), "/help/en");

    let en = browser.get("/help/en").await;
    en.assert_status(200);
    assert!(en.header("content-type").starts_with("text/html"));
    assert!(en.header("content-security-policy").contains("default-src 'self'"));
    for text in [
        "<html lang=\"en\">",
        "How do I get a refund?",
        "Billing",
        "Invoices",
        "Download an invoice",
        "Submit a request",
    ] {
        assert!(en.has(text), "{text} on the English home");
    }
    for hidden in HIDDEN {
        assert!(!en.has(hidden), "{hidden} leaked onto the home page");
    }
    assert!(en.has(&format!("<link rel=\"canonical\" href=\"{}/help/en\">", app.base)), "{}", en.body);
    assert!(en.has(&format!("<link rel=\"alternate\" hreflang=\"zh-TW\" href=\"{}/help/zh-TW\">", app.base)));
    assert!(en.has("<meta property=\"og:title\""));
    let zh = browser.get("/help/zh-CN").await;
    for text in ["如何申请退款？", "账单与付款", "发票", "提交请求", "搜索"] {
        assert!(zh.assert_status(200).has(text), "{text} on the Simplified home");
    }
    let tw = browser.get("/help/zh-TW").await;
    for text in ["如何申請退款？", "帳單與付款", "提交請求", "搜尋"] {
        assert!(tw.has(text), "{text} on the Traditional home");
    }
    assert!(!tw.has("如何开具发票"), "an article without a zh-TW translation is not listed in zh-TW");

    // Locales are spelled one way; anything else under /help is a 404 page.
    let miscased = browser.get("/help/zh-cn/search?q=x").await;
    assert_eq!((miscased.status.as_u16(), miscased.location()), (308, "/help/zh-CN/search?q=x".to_owned()));
    let unknown = browser.get("/help/fr").await;
    assert_eq!(
        (unknown.assert_status(404).error_code(), unknown.header("content-type")),
        ("route.not_found", "text/html; charset=utf-8")
    );
    assert_eq!(browser.get("/help/en/nothing/here").await.assert_status(404).error_code(), "route.not_found");

    // Articles: clean URLs, the right slug or a permanent redirect to it, meta tags and language links.
    let url = format!("/help/en/articles/{}-how-do-i-get-a-refund", kb.refund);
    let article = browser.get(&url).await;
    article.assert_status(200);
    for text in [
        "<strong>Orders</strong>".to_owned(),
        format!("<link rel=\"canonical\" href=\"{}{url}\">", app.base),
        "<meta property=\"og:type\" content=\"article\">".to_owned(),
        "<meta name=\"description\" content=\"Open Orders and choose Refund".to_owned(),
        format!("hreflang=\"zh-CN\" href=\"{}/help/zh-CN/articles/{}-", app.base, kb.refund),
        "Was this article helpful?".to_owned(),
    ] {
        assert!(article.has(&text), "{text} on the article");
    }
    let renamed = browser.get(&format!("/help/en/articles/{}-an-old-title?search=5", kb.refund)).await;
    assert_eq!((renamed.status.as_u16(), renamed.location()), (308, format!("{url}?search=5")));
    let chinese = browser.get(&format!("/help/zh-CN/articles/{}", kb.refund)).await;
    assert_eq!(chinese.status.as_u16(), 308);
    assert!(
        chinese.location().starts_with(&format!("/help/zh-CN/articles/{}-%E5%A6%82%E4%BD%95", kb.refund)),
        "{}",
        chinese.location()
    );
    assert!(browser.get(&chinese.location()).await.assert_status(200).has("三到五个工作日"));
    for id in [kb.draft, kb.internal, kb.archived, 999_999] {
        let hidden = browser.get(&format!("/help/en/articles/{id}")).await;
        assert_eq!(hidden.assert_status(404).error_code(), "article.not_found", "article {id}");
    }
    let untranslated = browser.get(&format!("/help/zh-TW/articles/{}", kb.invoices)).await;
    assert_eq!(untranslated.status.as_u16(), 404);

    // Categories and sections.
    let category = browser.get(&format!("/help/en/categories/{}-billing", kb.billing)).await;
    for text in ["<h1>Billing</h1>", "Invoices", "Download an invoice", "How do I get a refund?"] {
        assert!(category.assert_status(200).has(text), "{text} on the category");
    }
    assert!(HIDDEN.iter().all(|hidden| !category.has(hidden)));
    let renamed = browser.get(&format!("/help/zh-CN/categories/{}-billing", kb.billing)).await;
    assert_eq!(renamed.status.as_u16(), 308);
    assert_eq!(
        browser.get("/help/en/categories/424242-x").await.assert_status(404).error_code(),
        "kb_category.not_found"
    );
    let section = browser.get(&format!("/help/en/categories/{}-invoices", kb.invoices)).await;
    assert!(section.assert_status(200).has("Download an invoice") && !section.has("How do I get a refund?"));

    // Search finds published public articles only, with highlights, in the page's locale.
    let results = browser.get("/help/en/search?q=refund").await;
    assert!(results.assert_status(200).has("How do I get a <b>refund</b>?"), "{}", results.body);
    assert!(HIDDEN.iter().all(|hidden| !results.has(hidden)), "{}", results.body);
    for query in ["roadmap", "playbook"] {
        let nothing = browser.get(&format!("/help/en/search?q={query}")).await;
        assert!(nothing.has("Nothing matched") && !nothing.has("data-test-result>"), "{query}: {}", nothing.body);
    }
    let chinese = browser.get(&format!("/help/zh-CN/search?q={}", "退款")).await;
    assert!(chinese.has("如何申请<b>退款</b>？") || chinese.has("<b>退款</b>"), "{}", chinese.body);

    // The sitemap lists every published public translation, nothing else.
    let sitemap = browser.get("/help/sitemap.xml").await;
    assert!(sitemap.assert_status(200).header("content-type").starts_with("application/xml"));
    assert!(sitemap.has(&format!("<loc>{}{url}</loc>", app.base)));
    assert!(sitemap.has(&format!("hreflang=\"zh-TW\" href=\"{}/help/zh-TW/articles/{}-", app.base, kb.refund)));
    // Five translations, each listing its article's translations (itself included) as alternates.
    assert_eq!(sitemap.body.matches("/articles/").count(), 5 + 3 * 3 + 2 * 2, "{}", sitemap.body);
    for id in [kb.draft, kb.internal, kb.archived] {
        assert!(!sitemap.has(&format!("/articles/{id}-")), "article {id} in the sitemap");
    }

    // The stylesheet is cached for good; branding comes from the settings.
    let css = between(&en.body, "<link rel=\"stylesheet\" href=\"", "\"").expect("stylesheet").to_owned();
    let stylesheet = browser.get(&css).await;
    assert!(stylesheet.assert_status(200).header("cache-control").contains("immutable"));
    assert!(stylesheet.header("content-type").starts_with("text/css"));
    assert_eq!(browser.get("/help/assets/help-000.css").await.status.as_u16(), 404);
    let settings = json!({ "name": "Acme 帮助中心", "primary_color": "#aa3300", "custom_css": ".card > h2 { color: red }", "logo_url": "/logo.png" });
    app.app.save_help_settings(&kb.admin, settings).await.expect("settings");
    let branded = browser.get("/help/en").await;
    for text in ["Acme 帮助中心", "--brand: #aa3300", ".card > h2 { color: red }", "<img src=\"/logo.png\""] {
        assert!(branded.has(text), "{text} in the branded page");
    }
    assert!(!branded.body.contains("https://"), "nothing is loaded from elsewhere");
});

api_test!(feedback_clicks_and_deflections_are_recorded, |app: &TestApp| async move {
    let kb = seed(app).await;
    let browser = Browser::new(app);
    let url = format!("/help/en/articles/{}-how-do-i-get-a-refund", kb.refund);
    let article = browser.get(&url).await;
    let csrf = article.csrf();
    let translation = between(&article.body, "data-test-article=\"", "\"").expect("translation").to_owned();
    let translation_id: i64 = translation.parse().expect("id");

    let voted = browser
        .post(
            &format!("{url}/feedback"),
            &[("csrf", &csrf), ("translation", &translation), ("helpful", "no"), ("comment", "Too short")],
        )
        .await;
    assert_eq!((voted.status.as_u16(), voted.location()), (303, format!("/help/en/articles/{}?voted=1", kb.refund)));
    assert_eq!(app.app.feedback_counts(&[translation_id]).await.expect("counts")[&translation_id], (0, 1));
    let again = browser.get(&voted.location()).await;
    let thanked = browser.get(&again.location()).await;
    assert!(
        thanked.has("Thank you for your feedback!") && thanked.has("0 of 1 found this helpful"),
        "{}",
        thanked.body
    );

    // A post without the token, with another browser's token, or from another site is refused.
    let fields = [("translation", translation.as_str()), ("helpful", "yes")];
    assert_eq!(
        browser.post(&format!("{url}/feedback"), &fields).await.assert_status(403).error_code(),
        "help.form_expired"
    );
    let stranger = Browser::new(app);
    let borrowed = [("csrf", csrf.as_str()), ("translation", translation.as_str()), ("helpful", "yes")];
    assert_eq!(
        stranger.post(&format!("{url}/feedback"), &borrowed).await.assert_status(403).error_code(),
        "help.form_expired"
    );
    let cross_site = browser
        .http
        .post(format!("{}{url}/feedback", app.base))
        .header("origin", "https://evil.example")
        .form(&borrowed)
        .send()
        .await
        .expect("post");
    assert_eq!(cross_site.status().as_u16(), 403);
    assert_eq!(app.app.feedback_counts(&[translation_id]).await.expect("counts")[&translation_id], (0, 1));
    let bad = [("csrf", csrf.as_str()), ("translation", translation.as_str()), ("helpful", "maybe")];
    assert_eq!(
        browser.post(&format!("{url}/feedback"), &bad).await.assert_status(422).error_code(),
        "validation.invalid"
    );

    // A search result goes through the click redirect; the article then offers "this answered my question".
    let results = browser.get("/help/en/search?q=refund").await;
    let click = between(&results.body, "data-test-result><a href=\"", "\"").expect("a result").replace("&amp;", "&");
    let clicked = browser.get(&click).await;
    assert_eq!(clicked.status.as_u16(), 303);
    let search = between(&click, "search=", "&").expect("search id").to_owned();
    assert_eq!(clicked.location(), format!("{url}?search={search}"));
    let offered = browser.get(&clicked.location()).await;
    assert!(offered.has("data-test-deflect"), "{}", offered.body);
    let deflected = browser.post("/help/en/deflect", &[("csrf", &csrf), ("search", &search)]).await;
    assert!(deflected.assert_status(200).has("Glad we could help"));

    // A "yes" vote after another search counts as a deflection too.
    let second = browser.get("/help/en/search?q=invoice").await;
    let click = between(&second.body, "data-test-result><a href=\"", "\"").expect("a result").replace("&amp;", "&");
    let search = between(&click, "search=", "&").expect("search id").to_owned();
    let landed = browser.get(&browser.get(&click).await.location()).await;
    let translation = between(&landed.body, "data-test-article=\"", "\"").expect("translation").to_owned();
    // The page arrived at from a search also has a "this answered my question" form: take the feedback one.
    let feedback = landed.body.find("/feedback\"").expect("feedback form");
    let action = landed.body[..feedback].rfind("action=\"").expect("form action") + "action=\"".len();
    let slug = landed.body[action..feedback].to_owned();
    let vote = [
        ("csrf", csrf.as_str()),
        ("translation", translation.as_str()),
        ("helpful", "yes"),
        ("search", search.as_str()),
    ];
    let voted = browser.post(&format!("{slug}/feedback"), &vote).await;
    assert_eq!(voted.status.as_u16(), 303, "{slug}: {}", voted.body);

    let stats = app.app.search_analytics(&kb.admin, 1).await.expect("stats");
    assert_eq!((stats.searches, stats.clicks, stats.deflections), (2, 2, 2));
    assert_eq!((stats.helpful, stats.not_helpful), (1, 1));
    assert!(stats.top_queries.iter().any(|(query, _)| query == "refund"));
});

api_test!(suggestions_while_typing_show_published_articles_only, |app: &TestApp| async move {
    let kb = seed(app).await;
    let anonymous = app.anonymous();
    let english = anonymous.get("/help/api/suggest?locale=en&q=refund").await;
    let body = english.assert_status(200).clone();
    let titles: Vec<&str> =
        body["articles"].as_array().expect("articles").iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(titles, ["How do I get a refund?"], "{body}");
    let search_id = body["search_id"].as_i64().expect("a logged search");
    assert_eq!(
        body["articles"][0]["url"].as_str().expect("url"),
        format!("/help/en/search/click?search={search_id}&article={}", body["articles"][0]["id"])
    );
    assert!(body["articles"][0]["snippet"].as_str().expect("snippet").contains("Refunds reach your card"));
    let chinese = anonymous.get(&format!("/help/api/suggest?locale=zh-CN&q={}", "我想退款")).await;
    assert_eq!(chinese.assert_status(200)["articles"][0]["title"], "如何申请退款？");
    let short = anonymous.get("/help/api/suggest?locale=en&q=r").await;
    assert_eq!(short.assert_status(200).clone(), json!({ "search_id": null, "articles": [] }));
    anonymous.get("/help/api/suggest?locale=fr&q=refund").await.assert_problem(422, "validation.invalid");
    let long = "x".repeat(201);
    anonymous.get(&format!("/help/api/suggest?locale=en&q={long}")).await.assert_problem(422, "validation.invalid");
    anonymous.get("/help/api/suggest?locale=en&q=refund&q=x&limit=[").await.assert_status(400);
    let stats = app.app.search_analytics(&kb.admin, 1).await.expect("stats");
    assert_eq!(stats.searches, 2, "short queries are not logged");
});

async fn custom_field_category(app: &TestApp) -> (crate::harness::Client, i64) {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    admin
        .post("/api/v1/custom-fields", json!({ "key": "order_id", "label": "Order number", "field_type": "text" }))
        .await
        .assert_status(201);
    let category =
        admin.post("/api/v1/categories", json!({ "name": "Refunds", "required_fields": ["order_id"] })).await;
    let category = category.assert_status(201)["id"].as_i64().expect("id");
    (admin, category)
}

fn request_form(csrf: &str, email: &str, subject: &str, category: i64, order: &str) -> Form {
    Form::new()
        .text("csrf", csrf.to_owned())
        .text("name", "Li Lei")
        .text("email", email.to_owned())
        .text("subject", subject.to_owned())
        .text("description", "It arrived broken.")
        .text("category_id", category.to_string())
        .text("field.order_id", order.to_owned())
        .text("website", "")
}

api_test!(the_request_form_opens_a_web_ticket_with_its_required_fields_and_files, |app: &TestApp| async move {
    let (admin, category) = custom_field_category(app).await;
    admin
        .post(
            "/api/v1/triggers",
            json!({ "name": "Tag web requests", "events": ["ticket_created"],
                    "conditions": { "all": [{ "field": "channel", "operator": "is", "value": "web" }] },
                    "actions": [{ "type": "add_tags", "value": ["web_form"] }] }),
        )
        .await
        .assert_status(201);
    let browser = Browser::new(app);
    let form = browser.get("/help/en/requests/new").await;
    assert!(form.assert_status(200).has("Refunds") && !form.has("field-order_id"));
    assert!(form.has("name=\"website\""), "the honeypot is there");
    let chosen = browser.get(&format!("/help/en/requests/new?category_id={category}&subject=Broken+cup")).await;
    assert!(chosen.has("id=\"field-order_id\"") && chosen.has("value=\"Broken cup\""), "{}", chosen.body);
    let csrf = form.csrf();

    // A missing required field brings the form back, filled in, saying what to fix.
    let refused = browser
        .post_multipart("/help/en/requests", request_form(&csrf, "li.lei@example.com", "Broken cup", category, ""))
        .await;
    assert!(
        refused.assert_status(422).has("data-test-errors") && refused.has("Fill in: Order number"),
        "{}",
        refused.body
    );
    assert!(refused.has("value=\"Broken cup\"") && refused.has("It arrived broken."));
    let bad_email = browser
        .post_multipart("/help/en/requests", request_form(&csrf, "not-an-email", "Broken cup", category, "A-1"))
        .await;
    assert!(bad_email.assert_status(422).has("Enter a valid email address."));
    let too_big = request_form(&csrf, "li.lei@example.com", "Broken cup", category, "A-1")
        .part("attachments", Part::bytes(vec![b'x'; 65 * 1024]).file_name("huge.bin"));
    assert!(browser.post_multipart("/help/en/requests", too_big).await.assert_status(413).has("larger than"));

    let photo = Part::bytes(b"\x89PNG fake photo".to_vec()).file_name("杯子.png").mime_str("image/png").expect("mime");
    let good = request_form(&csrf, "Li.Lei@Example.com", "Broken cup", category, "A-100")
        .part("attachments", photo)
        .part("attachments", Part::bytes(Vec::new()).file_name(""));
    let created = browser.post_multipart("/help/en/requests", good).await;
    assert_eq!(created.status.as_u16(), 303, "{}", created.body);
    assert!(created.location().starts_with("/help/en/requests/received?number="), "{}", created.location());
    let number: i64 = created.location().rsplit('=').next().and_then(|n| n.parse().ok()).expect("number");
    assert!(browser.get(&created.location()).await.has(&format!("Your request #{number} has been received.")));

    let tickets = admin.get("/api/v1/tickets").await.assert_status(200).clone();
    let ticket =
        tickets["items"].as_array().expect("items").iter().find(|t| t["number"] == number).expect("the ticket").clone();
    assert_eq!((ticket["channel"].clone(), ticket["status"].clone()), (json!("web"), json!("new")));
    assert_eq!(
        (ticket["category_id"].clone(), ticket["custom_fields"].clone()),
        (json!(category), json!({ "order_id": "A-100" }))
    );
    assert_eq!(ticket["tags"], json!(["web_form"]), "the triggers ran on the new ticket");
    let customer = admin.get(&format!("/api/v1/customers/{}", ticket["requester_id"])).await.assert_status(200).clone();
    assert_eq!(customer["name"], "Li Lei");
    assert!(customer.to_string().contains("li.lei@example.com"), "{customer}");
    let messages = admin.get(&format!("/api/v1/tickets/{}/messages", ticket["id"])).await.assert_status(200).clone();
    let first = &messages["items"][0];
    assert_eq!(
        (first["body"].clone(), first["author"]["kind"].clone(), first["internal"].clone()),
        (json!("It arrived broken."), json!("customer"), json!(false))
    );
    let files = first["attachments"].as_array().expect("attachments");
    assert_eq!(files.len(), 1, "the empty file input is skipped");
    assert_eq!(files[0]["filename"], "杯子.png");
    let download = admin.send(admin.request(reqwest::Method::GET, files[0]["url"].as_str().expect("url"))).await;
    assert_eq!(download.status.as_u16(), 200);
    let events = admin.get(&format!("/api/v1/tickets/{}/events", ticket["id"])).await.assert_status(200).clone();
    assert_eq!(events["items"][0]["kind"], "created");
    assert_eq!(events["items"][0]["actor"]["kind"], "customer");

    // An unknown category or a field the category does not ask for is refused.
    let stray = request_form(&csrf, "li.lei@example.com", "Other", category, "A-1").text("field.secret", "x");
    assert_eq!(browser.post_multipart("/help/en/requests", stray).await.status.as_u16(), 422);
    let unknown = request_form(&csrf, "li.lei@example.com", "Other", 987_654, "A-1");
    assert!(
        browser
            .post_multipart("/help/en/requests", unknown)
            .await
            .assert_status(422)
            .has("Choose a category from the list.")
    );
});

api_test!(the_request_form_turns_away_robots_and_floods, |app: &TestApp| async move {
    let (admin, category) = custom_field_category(app).await;
    let browser = Browser::new(app);
    let csrf = browser.get("/help/en/requests/new").await.csrf();
    let robot =
        request_form(&csrf, "bot@example.com", "Cheap pills", category, "1").text("website", "http://spam.example");
    let refused = browser.post_multipart("/help/en/requests", robot).await;
    assert_eq!(refused.assert_status(400).error_code(), "help.spam_rejected");
    let no_token = request_form("", "li@example.com", "Hello", category, "1");
    assert_eq!(
        browser.post_multipart("/help/en/requests", no_token).await.assert_status(403).error_code(),
        "help.form_expired"
    );
    let not_multipart = browser.post("/help/en/requests", &[("csrf", &csrf)]).await;
    assert_eq!(not_multipart.assert_status(400).error_code(), "request.invalid_multipart");

    for n in 0..5 {
        let form = request_form(&csrf, "flood@example.com", &format!("Request {n}"), category, "1");
        browser.post_multipart("/help/en/requests", form).await.assert_status(303);
    }
    let limited = browser
        .post_multipart("/help/en/requests", request_form(&csrf, "flood@example.com", "Once more", category, "1"))
        .await;
    assert_eq!(limited.assert_status(429).error_code(), "request.rate_limited");
    assert!(limited.header("retry-after").parse::<u64>().is_ok_and(|seconds| seconds > 0 && seconds <= 600));
    // The address is spent too: another email from it waits as well.
    let other = browser
        .post_multipart("/help/en/requests", request_form(&csrf, "other@example.com", "Hi", category, "1"))
        .await;
    assert_eq!(other.assert_status(429).error_code(), "request.rate_limited");
    let tickets = admin.get("/api/v1/tickets").await.assert_status(200).clone();
    assert_eq!(tickets["items"].as_array().map(Vec::len), Some(5), "only the five accepted requests became tickets");
});

/// The link in the last email the sink received for `address` whose link path contains `path`.
fn link_in_mail(sink: &std::sync::Mutex<Vec<String>>, address: &str, path: &str) -> String {
    let mails = sink.lock().expect("sink").clone();
    let mail = mails.iter().rev().find(|mail| mail.contains(address) && mail.contains(path)).expect("a link mail");
    // Undo quoted-printable soft breaks and `=3D`, in case the text was encoded.
    let text = mail.replace("=\n", "").replace("=3D", "=");
    let start = text.find("http://").expect("a link");
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    link.split_once("://").and_then(|(_, rest)| rest.find('/').map(|slash| rest[slash..].to_owned())).expect("a path")
}

api_test!(customers_sign_in_by_link_or_password_and_see_only_their_own_requests, |app: &TestApp| async move {
    let (sink_port, sink) = smtp_sink().await;
    let admin = app.agent("admin@example.com", Role::Admin).await;
    admin
        .post(
            "/api/v1/mailboxes",
            json!({ "address": "support@kefu.example", "name": "Support",
            "smtp": { "host": "127.0.0.1", "port": sink_port, "security": "none" } }),
        )
        .await
        .assert_status(201);
    let mine = admin
        .create_ticket("My parcel is late", "wang@example.com", json!({ "message": { "body": "Where is it?" } }))
        .await;
    let mine_id = mine["id"].as_i64().expect("id");
    admin
        .post(&format!("/api/v1/tickets/{mine_id}/messages"), json!({ "body": "VIP, be gentle", "internal": true }))
        .await
        .assert_status(201);
    admin
        .post(&format!("/api/v1/tickets/{mine_id}/messages"), json!({ "body": "It ships tomorrow." }))
        .await
        .assert_status(201);
    admin.patch(&format!("/api/v1/tickets/{mine_id}"), json!({ "status": "pending" })).await.assert_status(200);
    let other = admin.create_ticket("Someone else's problem", "zhao@example.com", json!({})).await;

    let browser = Browser::new(app);
    let guarded = browser.get("/help/en/requests").await;
    assert_eq!(
        (guarded.status.as_u16(), guarded.location()),
        (303, "/help/en/sign-in?next=%2Fhelp%2Fen%2Frequests".to_owned())
    );
    let sign_in = browser.get("/help/en/sign-in").await;
    let csrf = sign_in.csrf();
    let sent = browser.post("/help/en/sign-in/link", &[("csrf", &csrf), ("email", "Wang@Example.com")]).await;
    assert!(sent.assert_status(200).has("Check your email"));
    let nobody = browser.post("/help/en/sign-in/link", &[("csrf", &csrf), ("email", "nobody@example.com")]).await;
    assert!(nobody.assert_status(200).has("Check your email"), "the same answer for an unknown address");
    assert_eq!(
        app.app.send_due_mail(Duration::from_secs(10)).await.expect("send"),
        1,
        "one mail, to the customer only"
    );
    let link = link_in_mail(&sink, "wang@example.com", "/help/en/sign-in/link/");

    let confirm = browser.get(&link).await;
    assert!(confirm.assert_status(200).has("Sign in as wang@example.com"), "{}", confirm.body);
    let signed_in = browser.post(&link, &[("csrf", &csrf)]).await;
    assert_eq!((signed_in.status.as_u16(), signed_in.location()), (303, "/help/en/requests".to_owned()));
    let cookie = signed_in.header("set-cookie").to_owned();
    assert!(
        cookie.starts_with("kefu_customer=") && cookie.contains("HttpOnly") && cookie.contains("Path=/help"),
        "{cookie}"
    );
    let session = between(&cookie, "kefu_customer=", ";").expect("session").to_owned();
    let reused = browser.post(&link, &[("csrf", &csrf)]).await;
    assert!(reused.assert_status(404).has("This link no longer works"), "a link works once");

    let list = browser.get("/help/en/requests").await;
    assert!(list.assert_status(200).has("My parcel is late") && !list.has("Someone else"), "{}", list.body);
    assert!(list.has("Awaiting your reply"));
    let page = browser.get(&format!("/help/en/requests/{mine_id}")).await;
    assert!(page.assert_status(200).has("Where is it?") && page.has("It ships tomorrow.") && page.has("admin"));
    assert!(!page.has("VIP, be gentle"), "internal notes never reach the customer");
    let theirs = browser.get(&format!("/help/en/requests/{}", other["id"])).await;
    assert_eq!(theirs.assert_status(404).error_code(), "ticket.not_found");

    // The customer session is not an agent session.
    let agents_api = reqwest::Client::new();
    for path in ["/api/v1/tickets", "/api/v1/auth/session"] {
        let response = agents_api
            .get(format!("{}{path}", app.base))
            .header("cookie", format!("kefu_customer={session}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), 401, "{path}");
    }

    // A reply is a customer message: the pending ticket reopens; files come along and can be fetched back.
    let reply = Form::new().text("csrf", csrf.clone()).text("body", "Thanks, I will wait.").part(
        "attachments",
        Part::bytes(b"receipt".to_vec()).file_name("receipt.txt").mime_str("text/plain").expect("mime"),
    );
    let replied = browser.post_multipart(&format!("/help/en/requests/{mine_id}/reply"), reply).await;
    assert_eq!(replied.status.as_u16(), 303, "{}", replied.body);
    let ticket = admin.get(&format!("/api/v1/tickets/{mine_id}")).await.assert_status(200).clone();
    assert_eq!(ticket["status"], "open");
    let messages = admin.get(&format!("/api/v1/tickets/{mine_id}/messages")).await.assert_status(200).clone();
    let last = messages["items"].as_array().and_then(|items| items.last()).expect("last").clone();
    assert_eq!(
        (last["body"].clone(), last["author"]["kind"].clone()),
        (json!("Thanks, I will wait."), json!("customer"))
    );
    let page = browser.get(&format!("/help/en/requests/{mine_id}")).await;
    let file = between(&page.body, "<ul class=\"files\"><li><a href=\"", "\"").expect("a file link").to_owned();
    let download = browser.get(&file).await;
    assert_eq!(
        (download.assert_status(200).body.as_str(), download.header("x-content-type-options")),
        ("receipt", "nosniff")
    );
    let empty = Form::new().text("csrf", csrf.clone()).text("body", "  ");
    assert_eq!(browser.post_multipart(&format!("/help/en/requests/{mine_id}/reply"), empty).await.status.as_u16(), 422);
    let foreign = Form::new().text("csrf", csrf.clone()).text("body", "hijack");
    assert_eq!(
        browser.post_multipart(&format!("/help/en/requests/{}/reply", other["id"]), foreign).await.status.as_u16(),
        404
    );

    // Sign out, then set a password by an emailed link and sign in with it.
    browser.post("/help/en/sign-out", &[("csrf", &csrf)]).await.assert_status(303);
    assert_eq!(browser.get("/help/en/requests").await.status.as_u16(), 303);
    browser.post("/help/en/password", &[("csrf", &csrf), ("email", "wang@example.com")]).await.assert_status(200);
    app.app.send_due_mail(Duration::from_secs(10)).await.expect("send");
    let link = link_in_mail(&sink, "wang@example.com", "/help/en/password/");
    assert!(browser.get(&link).await.assert_status(200).has("name=\"password_again\""));
    let mismatch =
        browser.post(&link, &[("csrf", &csrf), ("password", "a long password 1"), ("password_again", "another")]).await;
    assert!(mismatch.assert_status(422).has("The two passwords differ."));
    let short = browser.post(&link, &[("csrf", &csrf), ("password", "short"), ("password_again", "short")]).await;
    assert!(short.assert_status(422).has("at least 10 characters"));
    let set = browser
        .post(&link, &[("csrf", &csrf), ("password", "a long password 1"), ("password_again", "a long password 1")])
        .await;
    assert_eq!((set.status.as_u16(), set.location()), (303, "/help/en/requests".to_owned()));
    browser.post("/help/en/sign-out", &[("csrf", &csrf)]).await.assert_status(303);
    let wrong = browser
        .post("/help/en/sign-in", &[("csrf", &csrf), ("email", "wang@example.com"), ("password", "wrong password!")])
        .await;
    assert!(wrong.assert_status(401).has("The email or password is wrong."));
    let stranger = browser
        .post("/help/en/sign-in", &[("csrf", &csrf), ("email", "zhao@example.com"), ("password", "a long password 1")])
        .await;
    assert_eq!(stranger.status.as_u16(), 401, "a customer without a password cannot sign in with one");
    let next = format!("/help/en/requests/{mine_id}");
    let right = browser
        .post(
            "/help/en/sign-in",
            &[("csrf", &csrf), ("email", "wang@example.com"), ("password", "a long password 1"), ("next", &next)],
        )
        .await;
    assert_eq!((right.status.as_u16(), right.location()), (303, next.clone()));
    assert!(browser.get(&next).await.assert_status(200).has("Thanks, I will wait."));
});

api_test!(sign_in_links_expire_after_fifteen_minutes, Options::manual_clock(), |app: &TestApp| async move {
    let (sink_port, sink) = smtp_sink().await;
    let admin = app.agent("admin@example.com", Role::Admin).await;
    admin
        .post(
            "/api/v1/mailboxes",
            json!({ "address": "support@kefu.example", "name": "Support",
            "smtp": { "host": "127.0.0.1", "port": sink_port, "security": "none" } }),
        )
        .await
        .assert_status(201);
    admin.create_ticket("Hello", "late@example.com", json!({})).await;
    let browser = Browser::new(app);
    let csrf = browser.get("/help/en/sign-in").await.csrf();
    browser.post("/help/en/sign-in/link", &[("csrf", &csrf), ("email", "late@example.com")]).await.assert_status(200);
    app.app.send_due_mail(Duration::from_secs(10)).await.expect("send");
    let link = link_in_mail(&sink, "late@example.com", "/help/en/sign-in/link/");
    app.advance(chrono::Duration::minutes(16));
    assert!(browser.get(&link).await.assert_status(404).has("This link no longer works"));
    assert_eq!(browser.post(&link, &[("csrf", &csrf)]).await.status.as_u16(), 404);
    let value: Value = json!(null);
    assert!(value.is_null());
});

/// A file uploaded through the agents' API.
async fn upload_file(client: &crate::harness::Client, name: &str, content: &[u8], mime: &str) -> i64 {
    let part = Part::bytes(content.to_vec()).file_name(name.to_owned()).mime_str(mime).expect("mime");
    let request =
        client.request(reqwest::Method::POST, "/api/v1/attachments").multipart(Form::new().part("file", part));
    client.send(request).await.assert_status(201)["id"].as_i64().expect("id")
}

/// Status, headers and bytes of a GET without credentials.
async fn fetch_raw(app: &TestApp, path: &str) -> (u16, HeaderMap, Vec<u8>) {
    let response = reqwest::get(format!("{}{path}", app.base)).await.expect("get");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.expect("body").to_vec())
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really an image";

api_test!(article_files_are_public_only_on_published_public_articles, |app: &TestApp| async move {
    let admin = app.agent("admin@example.com", Role::Admin).await;
    let writer = app.agent("writer@example.com", Role::Agent).await;
    let collaborator = app.agent("co@example.com", Role::Collaborator).await;
    let article = |status: &str, visibility: &str, title: &str| {
        json!({ "status": status, "visibility": visibility,
            "translations": [{ "locale": "en", "title": title, "body_markdown": "Text." }] })
    };
    let create = |body: Value| {
        let admin = admin.clone();
        async move { admin.post("/api/v1/kb/articles", body).await.assert_status(201)["id"].as_i64().expect("id") }
    };
    let public = create(article("published", "public", "Reset the router")).await;
    let draft = create(article("draft", "public", "Router draft")).await;
    let internal = create(article("published", "internal", "Router internals")).await;

    // An agent uploads files and puts them on articles; the answer carries the Markdown to insert.
    let photo = upload_file(&writer, "路由器 1.png", PNG, "image/png").await;
    let manual = upload_file(&writer, "manual.pdf", b"%PDF-1.4 manual", "application/pdf").await;
    let drawing = upload_file(&writer, "x.svg", b"<svg onload=\"alert(1)\"></svg>", "image/svg+xml").await;
    let draft_photo = upload_file(&writer, "draft.png", PNG, "image/png").await;
    let internal_photo = upload_file(&writer, "internal.png", PNG, "image/png").await;
    let files = format!("/api/v1/kb/articles/{public}/attachments");
    let attached = writer.post(&files, json!({ "attachment_id": photo })).await.assert_status(201).clone();
    let photo_url = format!("/help/files/{photo}/%E8%B7%AF%E7%94%B1%E5%99%A8%201.png");
    assert_eq!(
        (attached["help_url"].clone(), attached["image"].clone(), attached["markdown"].clone()),
        (json!(photo_url), json!(true), json!(format!("![路由器 1.png]({photo_url})")))
    );
    assert_eq!(attached["url"], format!("/api/v1/attachments/{photo}/content"));
    writer.post(&files, json!({ "attachment_id": photo })).await.assert_status(201);
    let pdf = writer.post(&files, json!({ "attachment_id": manual })).await.assert_status(201).clone();
    assert_eq!(
        (pdf["image"].clone(), pdf["markdown"].clone()),
        (json!(false), json!(format!("[manual.pdf](/help/files/{manual}/manual.pdf)")))
    );
    let svg = writer.post(&files, json!({ "attachment_id": drawing })).await.assert_status(201).clone();
    assert_eq!(svg["image"], false, "SVG can carry script: a download, never inline");
    writer
        .post(&format!("/api/v1/kb/articles/{draft}/attachments"), json!({ "attachment_id": draft_photo }))
        .await
        .assert_status(201);
    writer
        .post(&format!("/api/v1/kb/articles/{internal}/attachments"), json!({ "attachment_id": internal_photo }))
        .await
        .assert_status(201);
    let listed = admin.get(&files).await.assert_status(200).clone();
    let ids: Vec<i64> = listed.as_array().expect("list").iter().map(|file| file["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, vec![photo, manual, drawing], "once each, in the order added");

    // Who may: collaborators read but do not write; a file the agent may not see is refused; so is no article.
    collaborator.get(&files).await.assert_status(200);
    collaborator.post(&files, json!({ "attachment_id": photo })).await.assert_problem(403, "kb.edit_forbidden");
    let admins_own = upload_file(&admin, "admin.png", PNG, "image/png").await;
    writer
        .post(&files, json!({ "attachment_id": admins_own }))
        .await
        .assert_problem(422, "validation.invalid_reference");
    writer.post(&files, json!({ "attachment_id": 987_654 })).await.assert_problem(422, "validation.invalid_reference");
    writer
        .post("/api/v1/kb/articles/987654/attachments", json!({ "attachment_id": photo }))
        .await
        .assert_problem(404, "article.not_found");
    writer.get("/api/v1/kb/articles/987654/attachments").await.assert_problem(404, "article.not_found");

    // The body shows the image from the help center, whose CSP allows its own images.
    let body = format!(
        "Press the button.\n\n{}\n\n{}",
        attached["markdown"].as_str().expect("md"),
        pdf["markdown"].as_str().expect("md")
    );
    admin
        .put(
            &format!("/api/v1/kb/articles/{public}"),
            json!({ "status": "published", "visibility": "public",
                "translations": [{ "locale": "en", "title": "Reset the router", "body_markdown": body }] }),
        )
        .await
        .assert_status(200);
    let browser = Browser::new(app);
    let page = browser.get(&format!("/help/en/articles/{public}-reset-the-router")).await;
    assert!(page.assert_status(200).has(&format!("<img src=\"{photo_url}\" alt=\"路由器 1.png\"")), "{}", page.body);
    assert!(page.has(&format!("href=\"/help/files/{manual}/manual.pdf\"")));
    let policy = page.header("content-security-policy");
    assert!(policy.contains("img-src 'self'"), "{policy}");

    // Customers get the files of the published public article: images inline, the rest as downloads.
    let (status, headers, bytes) = fetch_raw(app, &photo_url).await;
    assert_eq!((status, bytes.as_slice()), (200, PNG));
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-disposition"].to_str().expect("ascii").starts_with("inline;"));
    assert!(headers["content-security-policy"].to_str().expect("ascii").contains("sandbox"));
    let (status, headers, _) = fetch_raw(app, &format!("/help/files/{manual}/manual.pdf")).await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"].to_str().expect("ascii").starts_with("attachment;"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let (status, headers, _) = fetch_raw(app, &format!("/help/files/{drawing}/x.svg")).await;
    assert_eq!(status, 200);
    assert!(headers["content-disposition"].to_str().expect("ascii").starts_with("attachment;"));
    assert_eq!(headers["content-type"], "application/octet-stream");

    // ... and nothing else: draft and internal articles' files, files on no article, made-up ids.
    for path in [
        format!("/help/files/{draft_photo}/draft.png"),
        format!("/help/files/{internal_photo}/internal.png"),
        format!("/help/files/{admins_own}/admin.png"),
        "/help/files/987654/x.png".to_owned(),
        "/help/files/abc/x.png".to_owned(),
    ] {
        assert_eq!(fetch_raw(app, &path).await.0, 404, "{path}");
    }
    // With the help center's cookies too.
    assert_eq!(browser.get(&format!("/help/files/{draft_photo}/draft.png")).await.status.as_u16(), 404);

    // Agents read every article's files through the API, drafts and internal ones included.
    for id in [draft_photo, internal_photo, photo] {
        let download = collaborator
            .send(collaborator.request(reqwest::Method::GET, &format!("/api/v1/attachments/{id}/content")))
            .await;
        assert_eq!(download.status.as_u16(), 200, "file {id}");
        assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    }
    // A file on no article stays its uploader's.
    collaborator.get(&format!("/api/v1/attachments/{admins_own}")).await.assert_problem(404, "attachment.not_found");

    // Unpublished, the article's files go with it.
    admin
        .put(&format!("/api/v1/kb/articles/{public}"), json!({ "status": "draft", "visibility": "public" }))
        .await
        .assert_status(200);
    assert_eq!(fetch_raw(app, &photo_url).await.0, 404);

    // Taking a file off: once; then it is no longer an article file for other agents.
    let off = format!("/api/v1/kb/articles/{draft}/attachments/{draft_photo}");
    collaborator.delete(&off).await.assert_problem(403, "kb.edit_forbidden");
    writer.delete(&off).await.assert_status(204);
    writer.delete(&off).await.assert_problem(404, "attachment.not_found");
    collaborator.get(&format!("/api/v1/attachments/{draft_photo}")).await.assert_problem(404, "attachment.not_found");
    writer.get(&format!("/api/v1/attachments/{draft_photo}")).await.assert_status(200);
});
