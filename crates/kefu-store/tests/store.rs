//! The store suite: every test runs once on a temp-file SQLite and once on a fresh PostgreSQL schema,
//! through the real migrations.

use chrono::{DateTime, Duration, TimeZone, Utc};
use kefu_domain::{
    Actor, Agent, AgentId, Channel, CustomerId, EventKind, GroupId, Identity, LinkKind, MessageDraft, NewTicket,
    Priority, Role, Status, Tag, TicketEventDraft, TicketId, TicketLink, TicketNumber,
};
use kefu_store::{Cursor, CustomerFilter, NewCustomer, Store, StoreError, TicketFilter, TicketSort, Visibility};

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let db = kefu_store::testing::TestDb::new(kefu_store::testing::TestBackend::Sqlite).await.expect("sqlite");
                super::$name(&db.store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                if let Some(db) = kefu_store::testing::TestDb::new(kefu_store::testing::TestBackend::Postgres).await {
                    super::$name(&db.store).await;
                }
            })*
        }
    };
}

on_both_backends!(
    migrations_leave_nothing_pending,
    ticket_numbers_are_sequential_and_never_reused,
    ticket_round_trips_with_tags,
    stale_version_is_not_saved,
    ticket_list_pages_without_gaps_or_repeats,
    ticket_list_filters_use_status_assignee_group_and_tag,
    restricted_visibility_is_applied_in_the_query,
    updated_sort_pages_by_timestamp_then_id,
    identity_lookup_finds_the_one_customer,
    customer_names_come_in_id_order_without_missing_ids,
    identities_are_unique_across_customers,
    a_claimed_identity_creates_one_customer_and_leaves_no_orphan,
    customer_merge_moves_identities_and_tickets,
    events_append_in_order_and_page,
    messages_move_on_merge_and_hide_internal_notes,
    followers_and_links_are_idempotent,
    outbox_delivers_in_order,
    outbox_bounds_are_the_lowest_and_highest_kept_ids,
    a_transaction_sees_its_writes_queued_behind,
    a_failing_write_queued_behind_fails_the_commit_and_rolls_back_everything,
    idempotency_key_is_claimed_once,
    sessions_expire,
    article_files_are_attached_once_listed_in_order_and_detached,
    concurrent_writers_all_commit_and_a_dropped_one_loses_only_its_writes,
    writers_cancelled_at_any_point_leave_the_others_and_the_database_intact,
);

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("time") + Duration::minutes(minute)
}

async fn customer(store: &Store, email: &str) -> CustomerId {
    let tx = store.begin().await.expect("begin");
    let id = tx
        .repo()
        .insert_customer(&NewCustomer { name: email.into(), ..NewCustomer::default() }, at(0))
        .await
        .expect("customer");
    tx.repo().add_identity(id, &Identity::email(email).expect("email"), at(0)).await.expect("identity");
    tx.commit().await.expect("commit");
    id
}

fn draft(requester: CustomerId, subject: &str) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        status: Status::New,
        priority: Priority::Normal,
        category_id: None,
        channel: Channel::Api,
        requester_id: requester,
        assignee_id: None,
        group_id: None,
        tags: vec![],
        custom_fields: Default::default(),
    }
}

async fn create(store: &Store, draft: NewTicket, minute: i64) -> kefu_domain::Ticket {
    let (tx, ticket) = begin_with_ticket(store, draft, minute).await;
    tx.commit().await.expect("commit");
    ticket
}

/// A transaction that has inserted a ticket and is not yet committed.
async fn begin_with_ticket(store: &Store, draft: NewTicket, minute: i64) -> (kefu_store::Tx, kefu_domain::Ticket) {
    let tx = store.begin().await.expect("begin");
    let ticket = tx.repo().insert_ticket(&draft, at(minute)).await.expect("insert");
    (tx, ticket)
}

async fn agent(store: &Store, email: &str, role: Role, groups: &[GroupId]) -> AgentId {
    let tx = store.begin().await.expect("begin");
    let agent = Agent {
        id: AgentId(0),
        email: email.into(),
        name: email.into(),
        role,
        restricted_to_groups: false,
        group_ids: groups.to_vec(),
        active: true,
    };
    let id = tx.repo().insert_agent(&agent, None, at(0)).await.expect("agent");
    tx.commit().await.expect("commit");
    id
}

async fn group(store: &Store, name: &str) -> GroupId {
    let tx = store.begin().await.expect("begin");
    let group = tx.repo().insert_group(name, "", at(0)).await.expect("group");
    tx.commit().await.expect("commit");
    group.id
}

async fn migrations_leave_nothing_pending(store: &Store) {
    assert_eq!(store.pending_migrations().await.expect("pending"), 0);
    store.migrate().await.expect("migrating twice is a no-op");
    store.ping().await.expect("ping");
}

async fn ticket_numbers_are_sequential_and_never_reused(store: &Store) {
    let requester = customer(store, "a@example.com").await;
    let (tx, first) = begin_with_ticket(store, draft(requester, "rolled back"), 1).await;
    drop(tx); // rolled back: the number is burnt on PostgreSQL, reused on SQLite, but never stored twice
    let one = create(store, draft(requester, "one"), 1).await;
    let two = create(store, draft(requester, "two"), 2).await;
    assert!(one.number.0 >= first.number.0);
    assert_eq!(two.number.0, one.number.0 + 1);
}

async fn ticket_round_trips_with_tags(store: &Store) {
    let requester = customer(store, "b@example.com").await;
    let mut new = draft(requester, "退款 refund");
    new.tags = Tag::parse_set(&["vip", "退款"]).expect("tags");
    new.custom_fields.insert("order_id".into(), serde_json::json!("A-1"));
    let created = create(store, new, 1).await;
    let loaded = store.repo().ticket(created.id).await.expect("load").expect("exists");
    assert_eq!(loaded, created);
    assert_eq!(loaded.tags.iter().map(Tag::as_str).collect::<Vec<_>>(), ["vip", "退款"]);
    assert_eq!(loaded.version, 1);
    let by_number = store.repo().ticket_by_number(created.number).await.expect("load").expect("exists");
    assert_eq!(by_number.id, created.id);
    assert!(store.repo().ticket_by_number(TicketNumber(999_999)).await.expect("load").is_none());
}

async fn stale_version_is_not_saved(store: &Store) {
    let requester = customer(store, "c@example.com").await;
    let created = create(store, draft(requester, "first"), 1).await;
    let mut changed = created.clone();
    changed.subject = "second".into();
    changed.version = 2;
    changed.tags = Tag::parse_set(&["x"]).expect("tag");
    let tx = store.begin().await.expect("begin");
    assert!(tx.repo().save_ticket(&changed, &created).await.expect("save"));
    let mut stale = created.clone();
    stale.subject = "stale".into();
    stale.version = 2;
    assert!(!tx.repo().save_ticket(&stale, &created).await.expect("save"));
    tx.commit().await.expect("commit");
    let loaded = store.repo().ticket(created.id).await.expect("load").expect("exists");
    assert_eq!(loaded.subject, "second");
    assert_eq!(loaded.tags, changed.tags);
}

async fn ticket_list_pages_without_gaps_or_repeats(store: &Store) {
    let requester = customer(store, "d@example.com").await;
    let mut created = Vec::new();
    for n in 0..23 {
        created.push(create(store, draft(requester, &format!("t{n}")), n).await.id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .repo()
            .list_tickets(&TicketFilter::default(), TicketSort::CreatedDesc, 5, cursor)
            .await
            .expect("page");
        assert!(page.items.len() <= 5);
        seen.extend(page.items.iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(Cursor::decode(&next.encode()).expect("cursor round-trips")),
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);
}

async fn ticket_list_filters_use_status_assignee_group_and_tag(store: &Store) {
    let requester = customer(store, "e@example.com").await;
    let finance = group(store, "Finance").await;
    let li = agent(store, "li@example.com", Role::Agent, &[finance]).await;
    let mut refund = draft(requester, "refund");
    refund.group_id = Some(finance);
    refund.assignee_id = Some(li);
    refund.status = Status::Open;
    refund.tags = Tag::parse_set(&["退款"]).expect("tag");
    let refund = create(store, refund, 1).await;
    let other = create(store, draft(requester, "other"), 2).await;

    let list = |filter: TicketFilter| async move {
        store
            .repo()
            .list_tickets(&filter, TicketSort::CreatedDesc, 50, None)
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(TicketFilter { statuses: vec![Status::Open], ..TicketFilter::default() }).await, [refund.id]);
    assert_eq!(
        list(TicketFilter { statuses: vec![Status::New, Status::Open], ..TicketFilter::default() }).await,
        [other.id, refund.id]
    );
    assert_eq!(list(TicketFilter { assignee: Some(Some(li)), ..TicketFilter::default() }).await, [refund.id]);
    assert_eq!(list(TicketFilter { assignee: Some(None), ..TicketFilter::default() }).await, [other.id]);
    assert_eq!(list(TicketFilter { group: Some(Some(finance)), ..TicketFilter::default() }).await, [refund.id]);
    assert_eq!(
        list(TicketFilter { tag: Some(Tag::parse("退款").expect("tag")), ..TicketFilter::default() }).await,
        [refund.id]
    );
    assert_eq!(
        list(TicketFilter { requester: Some(requester), ..TicketFilter::default() }).await,
        [other.id, refund.id]
    );
}

async fn restricted_visibility_is_applied_in_the_query(store: &Store) {
    let requester = customer(store, "f@example.com").await;
    let tier2 = group(store, "Tier 2").await;
    let wang = agent(store, "wang@example.com", Role::Agent, &[]).await;
    let mut in_group = draft(requester, "in group");
    in_group.group_id = Some(tier2);
    let in_group = create(store, in_group, 1).await;
    let mut assigned = draft(requester, "assigned");
    assigned.assignee_id = Some(wang);
    let assigned = create(store, assigned, 2).await;
    let _hidden = create(store, draft(requester, "hidden"), 3).await;

    let filter = TicketFilter {
        visibility: Visibility::Restricted { agent_id: wang, group_ids: vec![tier2] },
        ..TicketFilter::default()
    };
    let page = store.repo().list_tickets(&filter, TicketSort::CreatedAsc, 1, None).await.expect("list");
    assert_eq!(page.items.iter().map(|t| t.id).collect::<Vec<_>>(), [in_group.id]);
    let page = store.repo().list_tickets(&filter, TicketSort::CreatedAsc, 1, page.next_cursor).await.expect("list");
    assert_eq!(page.items.iter().map(|t| t.id).collect::<Vec<_>>(), [assigned.id]);
    assert!(page.next_cursor.is_none(), "the hidden ticket does not even produce a cursor");
}

async fn updated_sort_pages_by_timestamp_then_id(store: &Store) {
    let requester = customer(store, "g@example.com").await;
    let a = create(store, draft(requester, "a"), 1).await;
    let b = create(store, draft(requester, "b"), 1).await; // same timestamp as a
    let c = create(store, draft(requester, "c"), 0).await;
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .repo()
            .list_tickets(&TicketFilter::default(), TicketSort::UpdatedDesc, 1, cursor)
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|t| t.id));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, [b.id, a.id, c.id]);
    let wrong = store
        .repo()
        .list_tickets(&TicketFilter::default(), TicketSort::CreatedDesc, 1, Some(Cursor::after(at(0), 1)))
        .await;
    assert!(matches!(wrong, Err(StoreError::Unsupported(_))));
}

async fn customer_names_come_in_id_order_without_missing_ids(store: &Store) {
    let first = customer(store, "li.na@example.cn").await;
    let second = customer(store, "bob@example.com").await;
    let missing = CustomerId(second.0 + 1000);
    let names = store.repo().customer_names(&[second, missing, first]).await.expect("names");
    assert_eq!(names, vec![(first, "li.na@example.cn".to_owned()), (second, "bob@example.com".to_owned())]);
    assert!(store.repo().customer_names(&[]).await.expect("none").is_empty());
}

async fn identity_lookup_finds_the_one_customer(store: &Store) {
    let id = customer(store, "Wang.Fang@example.cn").await;
    let found = store
        .repo()
        .customer_id_by_identity(&Identity::email("wang.fang@EXAMPLE.cn").expect("email"))
        .await
        .expect("lookup");
    assert_eq!(found, Some(id));
    let tx = store.begin().await.expect("begin");
    let openid = Identity::external("wechat", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").expect("openid");
    tx.repo().add_identity(id, &openid, at(1)).await.expect("add");
    tx.commit().await.expect("commit");
    assert_eq!(store.repo().customer_id_by_identity(&openid).await.expect("lookup"), Some(id));
    let customer = store.repo().customer(id).await.expect("load").expect("exists");
    assert_eq!(customer.identities.len(), 2);
    assert!(
        store
            .repo()
            .customer_id_by_identity(&Identity::external("line", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o").expect("id"))
            .await
            .expect("lookup")
            .is_none()
    );
}

async fn identities_are_unique_across_customers(store: &Store) {
    let first = customer(store, "h@example.com").await;
    let second = customer(store, "i@example.com").await;
    let tx = store.begin().await.expect("begin");
    let taken = tx.repo().add_identity(second, &Identity::email("h@example.com").expect("email"), at(1)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    drop(tx);
    assert_eq!(
        store.repo().customer_id_by_identity(&Identity::email("h@example.com").expect("email")).await.expect("lookup"),
        Some(first)
    );
}

async fn a_claimed_identity_creates_one_customer_and_leaves_no_orphan(store: &Store) {
    let identity = Identity::email("claim@example.com").expect("email");
    let draft = NewCustomer { name: "Claim".into(), ..NewCustomer::default() };
    let tx = store.begin().await.expect("begin");
    let first = tx.repo().insert_customer_claiming(&draft, &identity, at(0)).await.expect("claim").expect("created");
    assert_eq!(first.merged_into_id, None);
    // The same identity again (as a request that looked it up before the first committed would): nothing.
    assert_eq!(tx.repo().insert_customer_claiming(&draft, &identity, at(1)).await.expect("claim"), None);
    tx.commit().await.expect("commit");
    assert_eq!(store.repo().customer_id_by_identity(&identity).await.expect("lookup"), Some(first.id));
    let everyone = store.repo().list_customers(&CustomerFilter::default(), 10, None).await.expect("list");
    assert_eq!(everyone.items.iter().map(|customer| customer.id).collect::<Vec<_>>(), [first.id]);
}

async fn customer_merge_moves_identities_and_tickets(store: &Store) {
    let source = customer(store, "j@example.com").await;
    let target = customer(store, "k@example.com").await;
    let ticket = create(store, draft(source, "mine"), 1).await;
    let tx = store.begin().await.expect("begin");
    assert_eq!(tx.repo().move_identities(source, target).await.expect("move"), 1);
    assert_eq!(tx.repo().move_requester_tickets(source, target).await.expect("move"), [ticket.id]);
    tx.commit().await.expect("commit");
    let moved = store.repo().ticket(ticket.id).await.expect("load").expect("exists");
    assert_eq!(moved.requester_id, target);
    assert_eq!(moved.version, 2);
    let found =
        store.repo().customer_id_by_identity(&Identity::email("j@example.com").expect("email")).await.expect("lookup");
    assert_eq!(found, Some(target));
}

async fn events_append_in_order_and_page(store: &Store) {
    let requester = customer(store, "l@example.com").await;
    let ticket = create(store, draft(requester, "history"), 1).await;
    let tx = store.begin().await.expect("begin");
    let drafts: Vec<_> = (0..5)
        .map(|n| TicketEventDraft::field_changed("priority", serde_json::json!(n), serde_json::json!(n + 1)))
        .collect();
    let stored = tx.repo().append_events(ticket.id, Actor::Customer(requester), at(2), &drafts).await.expect("append");
    tx.commit().await.expect("commit");
    assert_eq!(stored.len(), 5);
    let first = store.repo().events(ticket.id, 3, None).await.expect("page");
    assert_eq!(first.items.len(), 3);
    let rest = store.repo().events(ticket.id, 3, first.next_cursor).await.expect("page");
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next_cursor.is_none());
    let all: Vec<_> = first.items.iter().chain(&rest.items).collect();
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(all[4].after, Some(serde_json::json!(5)));
    assert_eq!(all[0].actor, Actor::Customer(requester));
    assert_eq!(all[0].kind, EventKind::FieldChanged);
}

async fn messages_move_on_merge_and_hide_internal_notes(store: &Store) {
    let requester = customer(store, "m@example.com").await;
    let source = create(store, draft(requester, "source"), 1).await;
    let target = create(store, draft(requester, "target"), 2).await;
    let tx = store.begin().await.expect("begin");
    let message = |internal: bool, text: &str| MessageDraft {
        author: kefu_domain::AuthorKind::Customer(requester),
        internal,
        body_text: text.into(),
        body_html: None,
        attachment_ids: vec![],
    };
    tx.repo().insert_message(source.id, &message(false, "public"), at(3)).await.expect("message");
    tx.repo().insert_message(source.id, &message(true, "note"), at(4)).await.expect("message");
    assert_eq!(tx.repo().move_messages(source.id, target.id).await.expect("move"), 2);
    tx.commit().await.expect("commit");
    let all = store.repo().messages(target.id, true, 50, None).await.expect("messages");
    assert_eq!(all.items.iter().map(|m| m.body_text.as_str()).collect::<Vec<_>>(), ["public", "note"]);
    let public = store.repo().messages(target.id, false, 50, None).await.expect("messages");
    assert_eq!(public.items.len(), 1);
    assert!(store.repo().messages(source.id, true, 50, None).await.expect("messages").items.is_empty());
}

async fn followers_and_links_are_idempotent(store: &Store) {
    let requester = customer(store, "n@example.com").await;
    let one = create(store, draft(requester, "one"), 1).await;
    let two = create(store, draft(requester, "two"), 2).await;
    let li = agent(store, "li2@example.com", Role::Agent, &[]).await;
    let tx = store.begin().await.expect("begin");
    assert!(tx.repo().add_follower(one.id, li, at(3)).await.expect("follow"));
    assert!(!tx.repo().add_follower(one.id, li, at(3)).await.expect("follow again"));
    let link = TicketLink::new(two.id, one.id, LinkKind::Related).expect("link");
    assert!(tx.repo().add_link(link, at(3)).await.expect("link"));
    assert!(
        !tx.repo()
            .add_link(TicketLink::new(one.id, two.id, LinkKind::Related).expect("link"), at(3))
            .await
            .expect("same link")
    );
    tx.commit().await.expect("commit");
    assert_eq!(store.repo().followers(one.id).await.expect("followers"), [li]);
    assert_eq!(store.repo().links(two.id).await.expect("links"), [link]);
    let tx = store.begin().await.expect("begin");
    assert!(tx.repo().remove_follower(one.id, li).await.expect("unfollow"));
    assert!(tx.repo().remove_link(link).await.expect("unlink"));
    assert!(!tx.repo().remove_link(link).await.expect("unlink again"));
    tx.commit().await.expect("commit");
    assert!(store.repo().links(one.id).await.expect("links").is_empty());
}

async fn outbox_delivers_in_order(store: &Store) {
    let tx = store.begin().await.expect("begin");
    for n in 0..3 {
        tx.repo().insert_outbox("ticket", &serde_json::json!({ "n": n }), at(n)).await.expect("outbox");
    }
    tx.commit().await.expect("commit");
    let pending = store.repo().undelivered_outbox(2).await.expect("pending");
    assert_eq!(pending.iter().map(|row| row.payload["n"].clone()).collect::<Vec<_>>(), [0, 1]);
    let tx = store.begin().await.expect("begin");
    tx.repo().mark_outbox_delivered(&pending.iter().map(|row| row.id).collect::<Vec<_>>(), at(5)).await.expect("mark");
    tx.commit().await.expect("commit");
    let pending = store.repo().undelivered_outbox(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload["n"], 2);
}

async fn outbox_bounds_are_the_lowest_and_highest_kept_ids(store: &Store) {
    assert_eq!(store.repo().outbox_bounds().await.expect("bounds"), (0, 0));
    let tx = store.begin().await.expect("begin");
    for n in 0..3 {
        tx.repo().insert_outbox("ticket", &serde_json::json!({ "n": n }), at(n)).await.expect("outbox");
    }
    tx.commit().await.expect("commit");
    let all = store.repo().outbox_after(0, 10).await.expect("all");
    let ids: Vec<i64> = all.iter().map(|row| row.id).collect();
    assert_eq!(store.repo().outbox_bounds().await.expect("bounds"), (ids[0], ids[2]));
}

fn sla_record(ticket_id: TicketId, check: Option<DateTime<Utc>>) -> kefu_store::TicketSlaRecord {
    kefu_store::TicketSlaRecord {
        ticket_id,
        policy_id: None,
        targets: None,
        calendar_id: None,
        first_response_due_at: check,
        next_response_due_at: None,
        resolution_due_at: None,
        next_due_at: check,
        breached: false,
        next_check_at: check,
    }
}

async fn a_transaction_sees_its_writes_queued_behind(store: &Store) {
    // Tags, SLA rows and outbox notices wait for the commit on SQLite; reads in the same transaction see them.
    let requester = customer(store, "behind@example.com").await;
    let mut tagged = draft(requester, "tagged");
    tagged.tags = Tag::parse_set(&["退款", "vip"]).expect("tags");
    let (tx, ticket) = begin_with_ticket(store, tagged, 1).await;
    let reread = tx.repo().ticket(ticket.id).await.expect("load").expect("exists");
    assert_eq!(reread.tags, ticket.tags);
    let by_tag = TicketFilter { tag: Some(Tag::parse("vip").expect("tag")), ..TicketFilter::default() };
    assert_eq!(tx.repo().count_tickets(&by_tag).await.expect("count"), 1);
    tx.repo().save_ticket_sla(&sla_record(ticket.id, Some(at(30))), at(1)).await.expect("sla");
    assert_eq!(
        tx.repo().ticket_sla(ticket.id).await.expect("sla").map(|record| record.next_check_at),
        Some(Some(at(30)))
    );
    // A tag removed in place after its insert was queued stays removed.
    let mut untagged = reread.clone();
    untagged.tags.retain(|tag| tag.as_str() != "vip");
    untagged.version += 1;
    assert!(tx.repo().save_ticket(&untagged, &reread).await.expect("save"));
    tx.commit().await.expect("commit");
    let stored = store.repo().ticket(ticket.id).await.expect("load").expect("exists");
    assert_eq!(stored.tags, untagged.tags);
    assert!(store.repo().ticket_sla(ticket.id).await.expect("sla").is_some());
}

async fn a_failing_write_queued_behind_fails_the_commit_and_rolls_back_everything(store: &Store) {
    let requester = customer(store, "fails@example.com").await;
    let (tx, ticket) = begin_with_ticket(store, draft(requester, "doomed"), 1).await;
    tx.repo().insert_outbox("ticket", &serde_json::json!({ "doomed": true }), at(1)).await.expect("outbox");
    // An SLA row for a ticket that does not exist: refused by the foreign key, at the latest when committing.
    let queued = tx.repo().save_ticket_sla(&sla_record(TicketId(ticket.id.0 + 1000), None), at(1)).await;
    let committed = match queued {
        Ok(()) => tx.commit().await,
        Err(error) => Err(error),
    };
    assert!(matches!(committed, Err(StoreError::MissingReference(_))), "{committed:?}");
    assert_eq!(store.repo().ticket(ticket.id).await.expect("load"), None);
    assert_eq!(store.repo().outbox_bounds().await.expect("bounds"), (0, 0));
}

async fn idempotency_key_is_claimed_once(store: &Store) {
    let li = agent(store, "li3@example.com", Role::Agent, &[]).await;
    let tx = store.begin().await.expect("begin");
    assert_eq!(tx.repo().claim_idempotency_key(li, "k1", "h1", at(0)).await.expect("claim"), None);
    tx.commit().await.expect("commit");
    let tx = store.begin().await.expect("begin");
    let existing =
        tx.repo().claim_idempotency_key(li, "k1", "h1", at(1)).await.expect("claim").expect("claimed before");
    assert_eq!(existing.status_code, None);
    tx.repo().complete_idempotency_key(li, "k1", 201, "{}").await.expect("complete");
    tx.commit().await.expect("commit");
    let tx = store.begin().await.expect("begin");
    let done = tx.repo().claim_idempotency_key(li, "k1", "h2", at(2)).await.expect("claim").expect("claimed before");
    assert_eq!((done.status_code, done.request_hash.as_str()), (Some(201), "h1"));
    drop(tx);
}

async fn sessions_expire(store: &Store) {
    let tx = store.begin().await.expect("begin");
    assert!(tx.repo().create_session("s1", "{}", at(10)).await.expect("create"));
    assert!(!tx.repo().create_session("s1", "{}", at(10)).await.expect("create twice"));
    tx.repo().save_session("s1", "{\"a\":1}", at(20)).await.expect("save");
    tx.commit().await.expect("commit");
    assert_eq!(store.repo().session("s1", at(5)).await.expect("load").map(|s| s.0), Some("{\"a\":1}".to_owned()));
    assert_eq!(store.repo().session("s1", at(21)).await.expect("load"), None);
    let tx = store.begin().await.expect("begin");
    assert_eq!(tx.repo().delete_expired_sessions(at(21)).await.expect("prune"), 1);
    tx.commit().await.expect("commit");
}

mod automation {
    //! SLA state, alerts, assignment candidates and status timing.
    use super::*;

    on_both_backends!(
        sla_alerts_fire_exactly_once,
        due_sla_checks_come_from_the_index_in_order,
        status_changed_at_moves_only_with_the_status,
        assignment_candidates_count_unresolved_tickets,
    );

    async fn sla_alerts_fire_exactly_once(store: &Store) {
        let requester = customer(store, "sla@example.com").await;
        let ticket = create(store, draft(requester, "sla"), 1).await;
        let tx = store.begin().await.expect("begin");
        assert!(
            tx.repo().record_sla_alert(ticket.id, "first_response", "breach", at(60), at(61)).await.expect("alert")
        );
        assert!(
            !tx.repo().record_sla_alert(ticket.id, "first_response", "breach", at(60), at(62)).await.expect("again")
        );
        assert!(
            tx.repo()
                .record_sla_alert(ticket.id, "first_response", "warning", at(60), at(62))
                .await
                .expect("other kind")
        );
        tx.commit().await.expect("commit");
        assert!(store.repo().sla_alert_fired(ticket.id, "first_response", "breach", at(60)).await.expect("fired"));
    }

    async fn due_sla_checks_come_from_the_index_in_order(store: &Store) {
        let requester = customer(store, "due@example.com").await;
        let tx = store.begin().await.expect("begin");
        for (minute, check) in [(1, Some(30)), (2, Some(10)), (3, None), (4, Some(90))] {
            let ticket = tx.repo().insert_ticket(&draft(requester, "t"), at(minute)).await.expect("ticket");
            let record = kefu_store::TicketSlaRecord {
                ticket_id: ticket.id,
                policy_id: None,
                targets: None,
                calendar_id: None,
                first_response_due_at: check.map(at),
                next_response_due_at: None,
                resolution_due_at: None,
                next_due_at: check.map(at),
                breached: false,
                next_check_at: check.map(at),
            };
            tx.repo().save_ticket_sla(&record, at(minute)).await.expect("sla");
        }
        tx.commit().await.expect("commit");
        let due = store.repo().tickets_due_for_sla_check(at(40), 10).await.expect("due");
        assert_eq!(due.len(), 2);
        let first = store.repo().ticket_sla(due[0]).await.expect("load").expect("exists");
        assert_eq!(first.next_check_at, Some(at(10)));
        let soon = TicketFilter { sla_due_before: Some(at(40)), ..TicketFilter::default() };
        assert_eq!(store.repo().count_tickets(&soon).await.expect("count"), 2);
    }

    async fn status_changed_at_moves_only_with_the_status(store: &Store) {
        let requester = customer(store, "status@example.com").await;
        let ticket = create(store, draft(requester, "t"), 1).await;
        let mut retitled = ticket.clone();
        retitled.subject = "renamed".into();
        retitled.version = 2;
        retitled.updated_at = at(5);
        let tx = store.begin().await.expect("begin");
        assert!(tx.repo().save_ticket(&retitled, &ticket).await.expect("save"));
        let mut opened = retitled.clone();
        opened.status = Status::Open;
        opened.version = 3;
        opened.updated_at = at(9);
        assert!(tx.repo().save_ticket(&opened, &retitled).await.expect("save"));
        tx.commit().await.expect("commit");
        let timings = store.repo().status_changed_at(&[ticket.id]).await.expect("timings");
        assert_eq!(timings.get(&ticket.id), Some(&at(9)));
        let stale = store.repo().stale_tickets(&[Status::Open], at(10), 10).await.expect("stale");
        assert_eq!(stale.iter().map(|t| t.id).collect::<Vec<_>>(), [ticket.id]);
        assert!(store.repo().stale_tickets(&[Status::Open], at(8), 10).await.expect("stale").is_empty());
    }

    async fn assignment_candidates_count_unresolved_tickets(store: &Store) {
        let team = group(store, "Team").await;
        let li = agent(store, "li-c@example.com", Role::Agent, &[team]).await;
        let wang = agent(store, "wang-c@example.com", Role::Agent, &[team]).await;
        agent(store, "co-c@example.com", Role::Collaborator, &[team]).await;
        let requester = customer(store, "cand@example.com").await;
        for minute in 0..3 {
            let mut assigned = draft(requester, "t");
            assigned.assignee_id = Some(li);
            create(store, assigned, minute).await;
        }
        let tx = store.begin().await.expect("begin");
        tx.repo().set_availability(wang, false, Some(5), at(1)).await.expect("availability");
        tx.repo().touch_last_assigned(li, at(2)).await.expect("touch");
        tx.commit().await.expect("commit");
        let candidates = store.repo().assignment_candidates(team).await.expect("candidates");
        let summary: Vec<_> = candidates
            .iter()
            .map(|c| (c.agent_id, c.available, c.capacity, c.open_tickets, c.last_assigned_at))
            .collect();
        assert_eq!(summary, [(li, true, None, 3, Some(at(2))), (wang, false, Some(5), 0, None)]);
    }
}

async fn article_files_are_attached_once_listed_in_order_and_detached(store: &Store) {
    use kefu_domain::kb::{Article, ArticleStatus};
    let tx = store.begin().await.expect("begin");
    let article = Article {
        id: 0,
        category_id: None,
        status: ArticleStatus::Published,
        visibility: kefu_domain::kb::Visibility::Public,
        tags: vec![],
        review_by: None,
        source_ticket_id: None,
        translations: vec![],
        created_at: at(0),
        updated_at: at(0),
    };
    let first_article = tx.repo().save_kb_article(&article, at(0)).await.expect("article");
    let second_article = tx.repo().save_kb_article(&article, at(0)).await.expect("article");
    let mut files = Vec::new();
    for (minute, name) in [(1, "b.png"), (2, "a.pdf")] {
        let file = kefu_store::NewAttachment {
            filename: name.into(),
            content_type: "image/png".into(),
            size_bytes: 1,
            sha256: "00".into(),
            storage_key: format!("attachments/{name}"),
            uploaded_by: None,
        };
        let record = tx.repo().insert_attachment(&file, at(minute)).await.expect("attachment");
        tx.repo().attach_kb_file(first_article, record.id.0, None, at(minute)).await.expect("attach");
        files.push(record.id);
    }
    // Twice is once; a file may be on two articles.
    tx.repo().attach_kb_file(first_article, files[0].0, None, at(9)).await.expect("attach again");
    tx.repo().attach_kb_file(second_article, files[0].0, None, at(9)).await.expect("attach elsewhere");
    tx.commit().await.expect("commit");

    let repo = store.repo();
    let listed: Vec<_> = repo.kb_files(first_article).await.expect("files").into_iter().map(|file| file.id).collect();
    assert_eq!(listed, files);
    assert_eq!(repo.kb_articles_with_file(files[0].0).await.expect("articles"), vec![first_article, second_article]);
    assert!(repo.kb_files(987_654).await.expect("none").is_empty());

    let tx = store.begin().await.expect("begin");
    assert!(tx.repo().detach_kb_file(first_article, files[0].0).await.expect("detach"));
    assert!(!tx.repo().detach_kb_file(first_article, files[0].0).await.expect("detach again"));
    tx.commit().await.expect("commit");
    assert_eq!(store.repo().kb_articles_with_file(files[0].0).await.expect("articles"), vec![second_article]);
    assert_eq!(store.repo().kb_files(first_article).await.expect("files").len(), 1);
}

/// Many writers at once (on SQLite they share commits): each committed one is stored once with its own
/// number, each dropped one leaves nothing, whatever batch it was in.
async fn concurrent_writers_all_commit_and_a_dropped_one_loses_only_its_writes(store: &Store) {
    let requester = customer(store, "batch@example.com").await;
    let writers: Vec<_> = (0..40)
        .map(|n: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                let (tx, _) = begin_with_ticket(&store, draft(requester, &format!("batch {n}")), n).await;
                tokio::task::yield_now().await;
                if n % 5 == 0 {
                    drop(tx);
                    None
                } else {
                    tx.commit().await.expect("commit");
                    Some(format!("batch {n}"))
                }
            })
        })
        .collect();
    let mut committed = Vec::new();
    for writer in writers {
        committed.extend(writer.await.expect("writer"));
    }
    let stored =
        store.repo().list_tickets(&TicketFilter::default(), TicketSort::CreatedDesc, 100, None).await.expect("list");
    let mut subjects: Vec<_> = stored.items.iter().map(|ticket| ticket.subject.clone()).collect();
    subjects.sort();
    committed.sort();
    assert_eq!(subjects, committed);
    let mut numbers: Vec<_> = stored.items.iter().map(|ticket| ticket.number.0).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), committed.len(), "every ticket has its own number");
}

/// A SQLite write transaction dropped while nobody else waits must not leave the database locked: another
/// process (here a second store on the same file) can write right after.
#[tokio::test]
async fn sqlite_dropped_transaction_releases_the_write_lock() {
    let db = kefu_store::testing::TestDb::new(kefu_store::testing::TestBackend::Sqlite).await.expect("sqlite");
    let requester = customer(&db.store, "before@example.com").await;
    let (tx, _) = begin_with_ticket(&db.store, draft(requester, "dropped"), 1).await;
    drop(tx);
    tokio::task::yield_now().await;
    let other = Store::connect_with(&db.url, 2).await.expect("second store");
    let write = async {
        let tx = other.begin().await.expect("begin elsewhere");
        tx.repo().insert_ticket(&draft(requester, "elsewhere"), at(2)).await.expect("ticket elsewhere");
        tx.commit().await.expect("commit elsewhere");
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), write).await.expect("the lock was released");
    let committed_here = customer(&db.store, "after@example.com").await;
    assert!(db.store.repo().customer(committed_here).await.expect("read").is_some());
}

/// Writers whose requests are dropped at any point (waiting for the slot, mid-transaction, while committing)
/// must not lose the others' commits, nor leave a transaction open behind them.
async fn writers_cancelled_at_any_point_leave_the_others_and_the_database_intact(store: &Store) {
    let requester = customer(store, "cancel@example.com").await;
    let writers: Vec<_> = (0..40)
        .map(|n: i64| {
            let store = store.clone();
            tokio::spawn(async move {
                let (tx, _) = begin_with_ticket(&store, draft(requester, &format!("cancel {n}")), n).await;
                for _ in 0..n % 4 {
                    tokio::task::yield_now().await;
                }
                tx.commit().await.expect("commit");
                format!("cancel {n}")
            })
        })
        .collect();
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    for (n, writer) in writers.iter().enumerate() {
        if n % 3 == 0 {
            writer.abort();
        }
    }
    let mut committed = Vec::new();
    for writer in writers {
        if let Ok(subject) = writer.await {
            committed.push(subject);
        }
    }
    assert!(!committed.is_empty());
    // A write after them all goes through (nothing is left holding the slot or an open transaction) ...
    let after = tokio::time::timeout(std::time::Duration::from_secs(10), customer(store, "after-cancel@example.com"))
        .await
        .expect("the write slot is free");
    assert!(store.repo().customer(after).await.expect("read").is_some());
    // ... and every writer that finished is stored; an aborted one is stored whole or not at all.
    let stored =
        store.repo().list_tickets(&TicketFilter::default(), TicketSort::CreatedDesc, 100, None).await.expect("list");
    let subjects: Vec<_> = stored.items.iter().map(|ticket| ticket.subject.clone()).collect();
    for subject in &committed {
        assert!(subjects.contains(subject), "{subject} was committed but is not stored");
    }
}
