//! Unit tests of what only the queue's own modules can see: `cut`, option checks, and that
//! the state's indexes agree with its items' statuses.

use super::*;

#[test]
fn cut_keeps_whole_characters() {
    assert_eq!(cut("héllo", 2), "h");
    assert_eq!(cut("héllo", 3), "hé");
    assert_eq!(cut("abc", 10), "abc");
}

#[test]
fn options_with_a_zero_are_refused_by_name() {
    for (opts, field) in [
        (QueueOptions { max_items: 0, ..Default::default() }, "max_items"),
        (QueueOptions { max_attempts: 0, ..Default::default() }, "max_attempts"),
        (QueueOptions { lease: Duration::ZERO, ..Default::default() }, "lease"),
        (QueueOptions { max_payload: 0, ..Default::default() }, "max_payload"),
    ] {
        let e = Queue::new(opts).unwrap_err();
        assert!(matches!(&e, Error::InvalidArg(m) if m.contains(field)), "{e}");
    }
    let e = Queue::new(QueueOptions { lease: Duration::MAX, ..Default::default() }).unwrap_err();
    assert!(matches!(&e, Error::InvalidArg(m) if m.contains("too long")), "{e}");
}

/// The internal indexes agree with the items' statuses after a mix of operations.
#[test]
fn indexes_follow_statuses() {
    let q = Queue::new(QueueOptions { max_attempts: 2, ..Default::default() }).unwrap();
    let ids: Vec<u64> = (0..20).map(|i| q.push(&[i as u8], i % 3).unwrap()).collect();
    let a = q.claim(Some(Duration::ZERO)).unwrap();
    let b = q.claim(Some(Duration::ZERO)).unwrap();
    q.fail(a.id, a.token, false, "x").unwrap();
    q.suspend(b.id).unwrap();
    q.suspend(ids[5]).unwrap();
    let c = q.claim_with_lease(Some(Duration::ZERO), Duration::from_millis(1)).unwrap();
    std::thread::sleep(Duration::from_millis(3));
    let st = {
        let (st, fx, _) = q.lock();
        q.settle(st, fx);
        q.state.lock()
    };
    for (id, it) in &st.items {
        match it.status {
            Status::Pending => assert!(st.pending.contains(&(Reverse(it.priority), *id))),
            Status::Processing { deadline, .. } => assert!(st.leases.contains(&(deadline, *id))),
            Status::Suspended => assert!(st.suspended.contains(id)),
            Status::Failed => assert!(st.failed.contains(id)),
        }
    }
    let total = st.pending.len() + st.leases.len() + st.suspended.len() + st.failed.len();
    assert_eq!(total, st.items.len());
    assert!(matches!(st.items[&c.id].status, Status::Pending));
}
