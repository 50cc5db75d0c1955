//! Its own test binary (so its own process): the first netrig call of the process is made from a
//! `Drop` while the thread is unwinding from a panic. Installing the quiet panic hook then would
//! abort the process; the guard must defer it and return a status.

use netrig::ffi::*;
use netrig::netrig_status::*;

struct FreeOnDrop(netrig_store);

impl Drop for FreeOnDrop {
    fn drop(&mut self) {
        assert_eq!(netrig_store_free(self.0), NETRIG_E_INVALID_HANDLE);
    }
}

#[test]
fn first_call_during_unwinding_returns_a_status() {
    let unwound = std::panic::catch_unwind(|| {
        let _guard = FreeOnDrop(netrig_store { id: 0 });
        panic!("the host's own panic");
    });
    assert!(unwound.is_err());
    // Later calls install the hook normally and still turn panics into statuses.
    // SAFETY: NULL is allowed for the message.
    assert_eq!(unsafe { netrig_debug_panic(std::ptr::null()) }, NETRIG_E_PANIC);
}
