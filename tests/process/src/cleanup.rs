//! A test that fails while its service runs must not leave the process behind: with the
//! test's pipes gone, the service could not even print its way through a shutdown.

use super::Service;

impl Drop for Service {
    fn drop(&mut self) {
        // Nothing to do once the service has exited (`exited` waited for it).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
