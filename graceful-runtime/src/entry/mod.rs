//! Running a program under graceful, for real: [`Main`], the builder that
//! `#[graceful::main]` expands to and a plain `fn main` may call; the run itself (the
//! environment, the runtime, the signals, the sequence, the report, the exit); and the
//! last word, the program's own code between the report and the exit.

mod builder;
mod last_word;
mod run;

pub use builder::Main;
