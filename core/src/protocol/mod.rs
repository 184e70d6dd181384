//! The automerge-repo sync protocol v1.
