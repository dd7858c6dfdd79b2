#[graceful::main]
async fn main() -> i32 {
    0
}
