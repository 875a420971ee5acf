//! The one migration set, applied on SQLite and PostgreSQL alike; a migration branches on the backend only
//! where the two really differ (the ticket number sequence).

use sea_orm_migration::prelude::*;

mod columns;
mod m20261123_000001_initial;
mod m20261124_000001_mail;
mod m20261124_000002_rules;
mod m20261125_000001_kb;
mod m20261126_000001_portal;
mod m20261127_000001_kb_files;

/// Every migration, in order. `kefu migrate` and `kefu serve` apply the pending ones.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_initial::Migration),
            Box::new(m20261124_000001_mail::Migration),
            Box::new(m20261124_000002_rules::Migration),
            Box::new(m20261125_000001_kb::Migration),
            Box::new(m20261126_000001_portal::Migration),
            Box::new(m20261127_000001_kb_files::Migration),
        ]
    }
}
