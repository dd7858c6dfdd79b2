//! Hooks in modules of the binary and in a linked library crate.

graceful::link!(hooks_lib);

mod http {
    #[graceful::teardown(order = 10)]
    pub(crate) async fn stop() {}

    pub(crate) mod sessions {
        #[graceful::teardown(order = 20)]
        fn drop_sessions() {}
    }
}

#[graceful::main(deadline = "5s")]
async fn main() {}
