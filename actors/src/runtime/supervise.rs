//! Panics at the actor boundary. actix's `Supervisor` restarts an actor that *stopped*, not
//! one that panicked (a panic unwinds through the arbiter and takes the actor down), so
//! every handler body runs inside [`guarded`]: a panic is caught, logged, and turned into
//! `ctx.stop()`, and the supervisor restarts the actor with its state.

use std::panic::{AssertUnwindSafe, catch_unwind};

use actix::{Actor, ActorContext};

/// Runs `body`; on a panic logs it under `who` and stops the actor. `None` after a panic.
pub fn guarded<A, C, R>(
    who: &str,
    act: &mut A,
    ctx: &mut C,
    body: impl FnOnce(&mut A, &mut C) -> R,
) -> Option<R>
where
    A: Actor<Context = C>,
    C: ActorContext,
{
    match catch_unwind(AssertUnwindSafe(|| body(act, ctx))) {
        Ok(r) => Some(r),
        Err(panic) => {
            eprintln!("{who} panicked ({}); restarting it", panic_text(panic.as_ref()));
            ctx.stop();
            None
        }
    }
}

/// The message of a caught panic.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_owned()
    }
}
