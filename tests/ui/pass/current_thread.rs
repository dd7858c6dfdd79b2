//! The current-thread runtime, a function named other than `main` nested in the real one,
//! and a body that returns `()`.

#[graceful::main(flavor = "current_thread")]
async fn serve() {}

fn main() {
    serve();
}
