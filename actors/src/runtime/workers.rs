//! The blocking workers, on `SyncArbiter` threads: `Retrieval` (k-NN over the database) and
//! `Vocoder` (today a pass-through: load the phrase and stretch it to the live grid; the
//! neural vocoder joins here later). Each answers the conductor by message, so an answer
//! reaches it even across a conductor restart.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use actix::{Actor, Handler, Message, Recipient, SyncContext};
use memsynth::db::Query;
use memsynth::db::embedding::GroupWeights;
use memsynth::db::schema::PhraseId;
use memsynth::live::conductor::{Candidate, Ticket};
use memsynth::live::transport::Tempo;

use super::library::Library;
use super::supervise::panic_text;

/// Retrieval's answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Candidates {
    /// The request's ticket.
    pub ticket: Ticket,
    /// The candidates, or why there are none.
    pub result: Result<Vec<Candidate>, String>,
}

/// The vocoder's answer.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Prepared {
    /// The request's ticket.
    pub ticket: Ticket,
    /// Stereo interleaved audio at the output rate, or why not.
    pub result: Result<Arc<[f32]>, String>,
}

/// Ask for candidates.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retrieve {
    /// Echoed back.
    pub ticket: Ticket,
    /// What to search near.
    pub query: Query,
    /// How many.
    pub k: usize,
    /// Group weights.
    pub weights: GroupWeights,
    /// Where the answer goes.
    pub reply: Recipient<Candidates>,
}

/// Ask for a phrase fitted to the grid.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Prepare {
    /// Echoed back.
    pub ticket: Ticket,
    /// The phrase.
    pub phrase_id: PhraseId,
    /// The live tempo.
    pub tempo: Tempo,
    /// Output rate.
    pub rate: u32,
    /// Where the answer goes.
    pub reply: Recipient<Prepared>,
}

fn caught<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let text = format!("{what} panicked: {}", panic_text(p.as_ref()));
        eprintln!("{text}");
        Err(text)
    })
}

/// k-NN retrieval.
pub struct Retrieval {
    /// The database.
    pub library: Arc<Library>,
}

impl Actor for Retrieval {
    type Context = SyncContext<Self>;
}

impl Handler<Retrieve> for Retrieval {
    type Result = ();
    fn handle(&mut self, m: Retrieve, _: &mut SyncContext<Self>) {
        let result = caught("retrieval", || self.library.candidates(&m.query, m.k, m.weights));
        m.reply.do_send(Candidates { ticket: m.ticket, result });
    }
}

/// Load and stretch (the vocoder's place in the pipeline).
pub struct Vocoder {
    /// The database.
    pub library: Arc<Library>,
}

impl Actor for Vocoder {
    type Context = SyncContext<Self>;
}

impl Handler<Prepare> for Vocoder {
    type Result = ();
    fn handle(&mut self, m: Prepare, _: &mut SyncContext<Self>) {
        let result = caught("vocoder", || self.library.prepare(m.phrase_id, m.tempo, m.rate));
        m.reply.do_send(Prepared { ticket: m.ticket, result });
    }
}
