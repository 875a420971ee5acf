//! Column and index builders shared by every migration, so each migration reads as its schema.

use sea_orm_migration::prelude::*;

/// An auto-increment big-integer primary key named `id`.
pub fn id() -> ColumnDef {
    ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key().to_owned()
}
pub fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().to_owned()
}
pub fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().to_owned()
}
pub fn bigint(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().to_owned()
}
pub fn bigint_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().null().to_owned()
}
pub fn boolean(name: &'static str, default: bool) -> ColumnDef {
    ColumnDef::new(name).boolean().not_null().default(default).to_owned()
}
pub fn timestamp(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().not_null().to_owned()
}
pub fn timestamp_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().null().to_owned()
}
pub fn json(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().not_null().to_owned()
}
pub fn json_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).json_binary().null().to_owned()
}
pub fn references(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, column).to(target, "id").on_delete(on_delete).to_owned()
}
pub fn index(name: &'static str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}
