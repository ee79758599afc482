/* The store's internals shared by its files (store.c, store_ports.c): the connection and its
 * lock, and the one statement preparer. Never included outside src/daemon/store*.c. */
#ifndef SBX_DAEMON_STORE_INT_H
#define SBX_DAEMON_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "daemon/store.h"

struct store {
	sqlite3 *db;
	pthread_mutex_t lock; /* held around every statement */
};

/**
 * store_prepare() - compile @sql on @st's connection (lock held). Return 0, or -1 logged.
 */
int store_prepare(struct store *st, const char *sql, sqlite3_stmt **s);

#endif
