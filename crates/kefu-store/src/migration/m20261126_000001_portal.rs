//! The customer portal and the help center's defences: customers' password hashes, single-use sign-in and
//! set-password links (stored hashed), customer sessions (stored hashed, apart from agents' sessions), the
//! rate-limit hits of the request form and the sign-in mail, and the key that signs the help center's form
//! tokens (shared by every node through the database).

use sea_orm_migration::prelude::*;

use super::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_portal"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("customer_passwords")
                .col(bigint("customer_id").primary_key())
                .col(text("password_hash"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut references(
                    "customer_passwords",
                    "customer_id",
                    "customers",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            Table::create()
                .table("portal_tokens")
                .col(id())
                .col(bigint("customer_id"))
                .col(text("purpose"))
                .col(text("token_hash"))
                .col(timestamp("expires_at"))
                .col(timestamp_null("used_at"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references("portal_tokens", "customer_id", "customers", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("portal_sessions")
                .col(text("token_hash").primary_key())
                .col(bigint("customer_id"))
                .col(timestamp("expires_at"))
                .col(timestamp("created_at"))
                .foreign_key(&mut references("portal_sessions", "customer_id", "customers", ForeignKeyAction::Cascade))
                .to_owned(),
            Table::create()
                .table("help_rate_hits")
                .col(id())
                .col(text("bucket"))
                .col(timestamp("created_at"))
                .to_owned(),
            Table::create().table("portal_secrets").col(text("name").primary_key()).col(text("value")).to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes = [
            Index::create().name("portal_tokens_hash").table("portal_tokens").col("token_hash").unique().to_owned(),
            index("portal_tokens_customer", "portal_tokens", &["customer_id"]),
            index("portal_sessions_customer", "portal_sessions", &["customer_id"]),
            index("portal_sessions_expires", "portal_sessions", &["expires_at"]),
            index("help_rate_hits_bucket", "help_rate_hits", &["bucket", "created_at"]),
            index("help_rate_hits_created", "help_rate_hits", &["created_at"]),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }
}
