//! The dualsync tour: the classic asyncio synchronization stories, each told
//! three times — all tasks, all threads, and threads and tasks mixed on the
//! same object. Run with `cargo run --release --example tour`.
//!
//! Each primitive's story lives in its own file here and exposes `run()`.

fn main() {
    println!("dualsync tour");
}
