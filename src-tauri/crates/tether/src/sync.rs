//! Locks that survive a panic elsewhere.
//!
//! Owns the one rule for `std::sync::Mutex` in Tether: a lock poisoned by a
//! panicking holder is taken anyway. Every mutex here guards plain data
//! (a token in memory, a table of pending requests) that stays consistent
//! between statements, so refusing it would turn one bug into a dead
//! bridge.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Takes `m`, poisoned or not.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_taken_anyway() {
        let m = std::sync::Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let _ = std::thread::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("poison it");
        })
        .join();
        assert!(m.is_poisoned());
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 2);
    }
}
