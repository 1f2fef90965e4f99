/*
 * function_inits: where a backend sets up function and operator calls (scripts/instructions.sh,
 * FF_INSTR_INITS=1). Every function or operator in an expression the executor or PL/pgSQL prepares
 * passes ExecInitFunc, which checks EXECUTE permission and looks the function up (~2 000
 * instructions), once per statement execution and, for a PL/pgSQL expression, once per transaction.
 * This module counts those set-ups by (PL/pgSQL function, line of its statement, function set up),
 * through the object access hook (OAT_FUNCTION_EXECUTE, which ExecInitFunc invokes) and PL/pgSQL's
 * instrumentation plugin (which function and statement is running), and writes the counts to
 * $FF_INITS_OUT.<pid> when the backend exits: "plpgsql_function_oid line callee_oid count" per line
 * (0 0 for set-ups outside PL/pgSQL). Measurement only: load it with shared_preload_libraries into a
 * throwaway single-user backend, never into a server that serves anything.
 */
#include "postgres.h"
#include "fmgr.h"
#include "catalog/objectaccess.h"
#include "miscadmin.h"
#include "plpgsql.h"
#include "storage/ipc.h"
#include <stdio.h>
#include <stdlib.h>

PG_MODULE_MAGIC;

#define TABLE_SIZE 1048576   /* open addressing; far more than the distinct keys of a workload */
#define MAX_DEPTH 256

typedef struct Entry { uint64 key; uint64 count; } Entry;

static Entry *table;
static object_access_hook_type previous_hook;
static Oid running_function[MAX_DEPTH];
static int running_line[MAX_DEPTH];
static int depth;

static void
count_key(uint64 key)
{
    uint64 slot = (key * UINT64CONST(0x9E3779B97F4A7C15)) >> 44;

    while (table[slot].key != 0 && table[slot].key != key)
        slot = (slot + 1) & (TABLE_SIZE - 1);
    table[slot].key = key;
    table[slot].count++;
}

static void
on_object_access(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
    if (access == OAT_FUNCTION_EXECUTE)
    {
        uint64 function = depth > 0 && depth <= MAX_DEPTH ? running_function[depth - 1] : 0;
        uint64 line = depth > 0 && depth <= MAX_DEPTH ? running_line[depth - 1] : 0;

        /* key: function (24 bits), line (16 bits), callee (24 bits), plus one so that 0 is empty */
        count_key(((function & 0xFFFFFF) << 40 | (line & 0xFFFF) << 24 | (object_id & 0xFFFFFF)) + 1);
    }
    if (previous_hook)
        previous_hook(access, class_id, object_id, sub_id, arg);
}

static void
on_function_begin(PLpgSQL_execstate *estate, PLpgSQL_function *func)
{
    if (depth < MAX_DEPTH)
    {
        running_function[depth] = func->fn_oid;
        running_line[depth] = 0;
    }
    depth++;
}

static void
on_function_end(PLpgSQL_execstate *estate, PLpgSQL_function *func)
{
    if (depth > 0)
        depth--;
}

static void
on_statement_begin(PLpgSQL_execstate *estate, PLpgSQL_stmt *stmt)
{
    if (depth > 0 && depth <= MAX_DEPTH)
        running_line[depth - 1] = stmt->lineno;
}

static PLpgSQL_plugin plugin = {NULL, on_function_begin, on_function_end, on_statement_begin, NULL};

static void
write_counts(int code, Datum arg)
{
    const char *prefix = getenv("FF_INITS_OUT");
    char        path[MAXPGPATH];
    FILE       *out;

    if (prefix == NULL)
        return;
    snprintf(path, sizeof path, "%s.%d", prefix, MyProcPid);
    if ((out = fopen(path, "w")) == NULL)
        return;
    for (int i = 0; i < TABLE_SIZE; i++)
        if (table[i].key != 0)
        {
            uint64 key = table[i].key - 1;

            fprintf(out, "%llu %llu %llu %llu\n", (unsigned long long) (key >> 40),
                    (unsigned long long) ((key >> 24) & 0xFFFF), (unsigned long long) (key & 0xFFFFFF),
                    (unsigned long long) table[i].count);
        }
    fclose(out);
}

void
_PG_init(void)
{
    PLpgSQL_plugin **plugin_slot = (PLpgSQL_plugin **) find_rendezvous_variable("PLpgSQL_plugin");

    table = calloc(TABLE_SIZE, sizeof(Entry));
    if (table == NULL)
        elog(ERROR, "function_inits: out of memory");
    *plugin_slot = &plugin;
    previous_hook = object_access_hook;
    object_access_hook = on_object_access;
    on_proc_exit(write_counts, 0);
}
