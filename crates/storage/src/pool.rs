//! The read pool: r2d2 over diesel's connection manager, with one difference. r2d2 can test
//! a connection on every checkout (`SELECT 1`): on PostgreSQL that is one more round trip per
//! request, on the path of every introspection. Instead a read that could not even begin its
//! transaction (the connection was closed by a restarted server, a failover, an idle
//! timeout) marks the connection broken, so the pool drops it, and starts over on another
//! one: its closure has not run yet, so nothing is repeated. A stale connection therefore
//! costs no failed request, and a live one costs no extra round trip.

use std::ops::{Deref, DerefMut};

use diesel::r2d2::{ConnectionManager, CustomizeConnection, ManageConnection, R2D2Connection};

use crate::backend::Backend;
use crate::compiles::Counter;

/// A pooled connection and whether it must not be handed out again.
pub(crate) struct Pooled<C> {
    conn: C,
    broken: bool,
}

impl<C> Pooled<C> {
    /// Drops the connection when it goes back to the pool.
    pub(crate) fn discard(&mut self) {
        self.broken = true;
    }
}

impl<C> Deref for Pooled<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.conn
    }
}

impl<C> DerefMut for Pooled<C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.conn
    }
}

/// diesel's [`ConnectionManager`], handing out [`Pooled`] connections opened by
/// [`Backend::open`] (which counts their statement compilations).
pub(crate) struct Manager<C: 'static> {
    inner: ConnectionManager<C>,
    url: String,
    compiles: Counter,
}

impl<C: R2D2Connection + 'static> Manager<C> {
    pub(crate) fn new(url: String, compiles: Counter) -> Self {
        Self {
            inner: ConnectionManager::new(url.clone()),
            url,
            compiles,
        }
    }
}

impl<C: Backend> ManageConnection for Manager<C> {
    type Connection = Pooled<C>;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled<C>, Self::Error> {
        Ok(Pooled {
            conn: C::open(&self.url, &self.compiles)
                .map_err(diesel::r2d2::Error::ConnectionError)?,
            broken: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled<C>) -> Result<(), Self::Error> {
        self.inner.is_valid(&mut conn.conn)
    }

    fn has_broken(&self, conn: &mut Pooled<C>) -> bool {
        conn.broken || self.inner.has_broken(&mut conn.conn)
    }
}

/// A connection customizer of `C` applied to [`Pooled`] connections.
#[derive(Debug)]
pub(crate) struct Customize<S>(pub(crate) S);

impl<C, S> CustomizeConnection<Pooled<C>, diesel::r2d2::Error> for Customize<S>
where
    C: Send + 'static,
    S: CustomizeConnection<C, diesel::r2d2::Error>,
{
    fn on_acquire(&self, conn: &mut Pooled<C>) -> Result<(), diesel::r2d2::Error> {
        self.0.on_acquire(&mut conn.conn)
    }
}
