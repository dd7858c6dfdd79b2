//! The signals that can start a shutdown, by the name the attribute and the logs give them.

/// Each signal's name, as written in `signals = [...]` and shown in logs, and the name of
/// its variant of the runtime's `Signal`, in the order the variants are declared: the
/// runtime finds a signal's name here by its discriminant. Unix signals first, then the
/// Windows console events.
pub(crate) const SIGNALS: [(&str, &str); 10] = [
    ("SIGINT", "Interrupt"),
    ("SIGTERM", "Terminate"),
    ("SIGHUP", "Hangup"),
    ("SIGQUIT", "Quit"),
    ("SIGUSR1", "User1"),
    ("SIGUSR2", "User2"),
    ("ctrl_c", "CtrlC"),
    ("ctrl_break", "CtrlBreak"),
    ("ctrl_close", "CtrlClose"),
    ("ctrl_shutdown", "CtrlShutdown"),
];
