//! Files on knowledge-base articles: which uploaded attachment belongs to which article (images shown in
//! its body, files offered for download). The bytes and their metadata stay in `attachments`; a file may
//! be on several articles, and leaves them when either is deleted.

use sea_orm_migration::prelude::*;

use super::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000001_kb_files"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("kb_article_attachments")
                    .col(bigint("article_id"))
                    .col(bigint("attachment_id"))
                    .col(bigint_null("added_by_agent_id"))
                    .col(timestamp("created_at"))
                    .primary_key(Index::create().col("article_id").col("attachment_id"))
                    .foreign_key(&mut references(
                        "kb_article_attachments",
                        "article_id",
                        "kb_articles",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut references(
                        "kb_article_attachments",
                        "attachment_id",
                        "attachments",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        // `/help/files/{id}` asks which articles a file is on.
        manager
            .create_index(index("kb_article_attachments_attachment", "kb_article_attachments", &["attachment_id"]))
            .await
    }
}
