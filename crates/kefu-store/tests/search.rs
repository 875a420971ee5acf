//! What search results read of the tickets they found (`Repo::ticket_briefs_by_ids`), on a temp-file SQLite
//! and on a fresh PostgreSQL schema: the same state as the whole ticket, in id order, missing ids left out.

use chrono::{TimeZone, Utc};
use kefu_domain::{Channel, Identity, NewTicket, Priority, Status, Tag, TicketId};
use kefu_store::testing::{TestBackend, TestDb};
use kefu_store::{NewCustomer, Store, TicketBrief};

#[tokio::test]
async fn ticket_briefs_match_the_tickets_on_sqlite() {
    let db = TestDb::new(TestBackend::Sqlite).await.expect("sqlite");
    ticket_briefs_match_the_tickets(&db.store).await;
}

#[tokio::test]
async fn ticket_briefs_match_the_tickets_on_postgres() {
    if let Some(db) = TestDb::new(TestBackend::Postgres).await {
        ticket_briefs_match_the_tickets(&db.store).await;
    }
}

async fn ticket_briefs_match_the_tickets(store: &Store) {
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).single().expect("time");
    let tx = store.begin().await.expect("begin");
    let requester = tx
        .repo()
        .insert_customer(&NewCustomer { name: "王芳".into(), ..NewCustomer::default() }, now)
        .await
        .expect("customer");
    tx.repo()
        .add_identity(requester, &Identity::email("wang.fang@example.cn").expect("email"), now)
        .await
        .expect("identity");
    let mut ids = Vec::new();
    for (subject, status, priority) in [("退款", Status::Open, Priority::High), ("发票", Status::Solved, Priority::Low)]
    {
        let draft = NewTicket {
            subject: subject.into(),
            status,
            priority,
            category_id: None,
            channel: Channel::Api,
            requester_id: requester,
            assignee_id: None,
            group_id: None,
            tags: Tag::parse_set(&["vip"]).expect("tags"),
            custom_fields: Default::default(),
        };
        ids.push(tx.repo().insert_ticket(&draft, now).await.expect("ticket").id);
    }
    tx.commit().await.expect("commit");

    let asked = [ids[1], TicketId(999_999), ids[0]];
    let briefs = store.repo().ticket_briefs_by_ids(&asked).await.expect("briefs");
    let tickets = store.repo().tickets_by_ids(&asked).await.expect("tickets");
    let expected: Vec<TicketBrief> = tickets
        .iter()
        .map(|ticket| TicketBrief {
            id: ticket.id,
            number: ticket.number,
            status: ticket.status,
            priority: ticket.priority,
            requester_id: ticket.requester_id,
            assignee_id: ticket.assignee_id,
            group_id: ticket.group_id,
            updated_at: ticket.updated_at,
        })
        .collect();
    assert_eq!(briefs, expected);
    assert_eq!(briefs.iter().map(|brief| brief.id).collect::<Vec<_>>(), ids, "in id order, the missing one left out");
    assert_eq!((briefs[0].status, briefs[1].priority), (Status::Open, Priority::Low));
    assert!(store.repo().ticket_briefs_by_ids(&[]).await.expect("none").is_empty());
}
