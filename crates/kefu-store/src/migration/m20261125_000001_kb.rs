//! The knowledge base: categories and sections, articles and their locale variants, revisions, reader
//! feedback, the search log for analytics, and the help center's branding.

use sea_orm_migration::prelude::*;

use super::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261125_000001_kb"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("kb_categories")
                .col(id())
                .col(bigint_null("parent_id"))
                .col(json("names"))
                .col(bigint("position"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("kb_categories", "parent_id", "kb_categories", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("kb_articles")
                .col(id())
                .col(bigint_null("category_id"))
                .col(text("status"))
                .col(text("visibility"))
                .col(json("tags"))
                .col(text_null("review_by"))
                .col(bigint_null("source_ticket_id"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("kb_articles", "category_id", "kb_categories", ForeignKeyAction::SetNull))
                .to_owned(),
            Table::create()
                .table("kb_translations")
                .col(id())
                .col(bigint("article_id"))
                .col(text("locale"))
                .col(text("title"))
                .col(text("body_markdown"))
                .col(text("body_html"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references("kb_translations", "article_id", "kb_articles", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("kb_revisions")
                .col(id())
                .col(bigint("translation_id"))
                .col(text("title"))
                .col(text("body_markdown"))
                .col(bigint_null("author_agent_id"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references(
                    "kb_revisions",
                    "translation_id",
                    "kb_translations",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            Table::create()
                .table("kb_feedback")
                .col(id())
                .col(bigint("translation_id"))
                .col(boolean("helpful", true))
                .col(text_null("comment"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references(
                    "kb_feedback",
                    "translation_id",
                    "kb_translations",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            Table::create()
                .table("search_log")
                .col(id())
                .col(text("query"))
                .col(text("audience"))
                .col(text_null("locale"))
                .col(bigint("results"))
                .col(bigint_null("clicked_translation_id"))
                .col(boolean("deflected", false))
                .col(timestamp("created_at"))
                .to_owned(),
            Table::create().table("help_settings").col(bigint("id").primary_key()).col(json("data")).to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes = [
            Index::create()
                .name("kb_translations_article_locale")
                .table("kb_translations")
                .col("article_id")
                .col("locale")
                .unique()
                .to_owned(),
            index("kb_articles_category", "kb_articles", &["category_id", "id"]),
            index("kb_revisions_translation", "kb_revisions", &["translation_id", "id"]),
            index("kb_feedback_translation", "kb_feedback", &["translation_id"]),
            index("search_log_created", "search_log", &["created_at"]),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}
