/* us-spend.c: per-day totals per model, persisted like provenance.json. */
#include "us-spend.h"

#include "us-provenance.h"
#include "us-state-file.h"

/* Two weeks: this week's budget and a fortnight of days to show. */
#define KEEP_DAYS 14

typedef struct {
  char *date;       /* YYYY-MM-DD, local */
  char *provider;
  char *model;
  UsSpendTotals totals;
} Row;

struct _UsSpend
{
  GObject parent_instance;

  UsStateFile *file;
  GHashTable *rows;     /* "date\nprovider\nmodel" → Row */
};

G_DEFINE_FINAL_TYPE (UsSpend, us_spend, G_TYPE_OBJECT)

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->date);
  g_free (row->provider);
  g_free (row->model);
  g_free (row);
}

static void
us_spend_finalize (GObject *object)
{
  UsSpend *self = US_SPEND (object);

  /* Pending changes go out before the process does. */
  us_state_file_close (self->file);
  g_object_unref (self->file);
  g_hash_table_unref (self->rows);
  G_OBJECT_CLASS (us_spend_parent_class)->finalize (object);
}

static void
us_spend_class_init (UsSpendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = us_spend_finalize;
}

static void
us_spend_init (UsSpend *self)
{
  self->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, row_free);
}

char *
us_spend_default_path (void)
{
  g_autofree char *provenance = us_provenance_default_path ();
  g_autofree char *dir = g_path_get_dirname (provenance);

  return g_build_filename (dir, "spend.json", NULL);
}

/* Every request asks for today's date: GLib looks at /etc/localtime each
 * time it makes the local zone (a stat and a readlink), so the zone is
 * kept for a minute, which still follows a change of time zone. */
static GDateTime *
now_local (void)
{
  static GTimeZone *zone;
  static gint64 made_us;
  gint64 now = g_get_monotonic_time ();

  if (zone == NULL || now - made_us > 60 * G_USEC_PER_SEC)
    {
      g_clear_pointer (&zone, g_time_zone_unref);
      zone = g_time_zone_new_local ();
      made_us = now;
    }
  return g_date_time_new_now (zone);
}

static char *
local_date (gint days_ago)
{
  g_autoptr(GDateTime) now = now_local ();
  g_autoptr(GDateTime) then = g_date_time_add_days (now, -days_ago);

  return g_date_time_format (then, "%Y-%m-%d");
}

/* The first day the period counts. */
static char *
period_start (UsBudgetPeriod per)
{
  g_autoptr(GDateTime) now = now_local ();

  if (per == US_BUDGET_PER_DAY)
    return local_date (0);
  return local_date (g_date_time_get_day_of_week (now) - 1);
}

static Row *
lookup_row (UsSpend    *self,
            const char *date,
            const char *provider,
            const char *model)
{
  g_autofree char *key = g_strjoin ("\n", date, provider, model, NULL);
  Row *row = g_hash_table_lookup (self->rows, key);

  if (row == NULL)
    {
      row = g_new0 (Row, 1);
      row->date = g_strdup (date);
      row->provider = g_strdup (provider);
      row->model = g_strdup (model);
      g_hash_table_insert (self->rows, g_steal_pointer (&key), row);
    }
  return row;
}

/* Days past KEEP_DAYS go: the file and the table stay small. */
static void
prune (UsSpend *self)
{
  g_autofree char *oldest = local_date (KEEP_DAYS - 1);
  GHashTableIter iter;
  Row *row;

  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    if (strcmp (row->date, oldest) < 0)
      g_hash_table_iter_remove (&iter);
}

/* ---- The file ---------------------------------------------------------- */

static GBytes *
serialize (UsSpend *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  GHashTableIter iter;
  Row *row;
  char *text;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, 1);
  json_builder_set_member_name (b, "days");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    {
      json_builder_begin_array (b);
      json_builder_add_string_value (b, row->date);
      json_builder_add_string_value (b, row->provider);
      json_builder_add_string_value (b, row->model);
      json_builder_add_int_value (b, row->totals.requests);
      json_builder_add_int_value (b, row->totals.tokens);
      json_builder_add_double_value (b, row->totals.usd);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static gboolean
load (UsSpend  *self,
      GError  **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root, *days;
  JsonArray *array;

  if (!json_parser_load_from_mapped_file (parser, us_state_file_get_path (self->file), error))
    return FALSE;
  root = json_parser_get_root (parser);
  days = root && JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), "days") : NULL;
  if (days == NULL || !JSON_NODE_HOLDS_ARRAY (days))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "no \"days\" array");
      return FALSE;
    }
  array = json_node_get_array (days);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonArray *item = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
      Row *row;

      if (item == NULL || json_array_get_length (item) != 6)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "$.days[%u] is not a row", i);
          return FALSE;
        }
      row = lookup_row (self, json_array_get_string_element (item, 0),
                        json_array_get_string_element (item, 1), json_array_get_string_element (item, 2));
      row->totals.requests = json_array_get_int_element (item, 3);
      row->totals.tokens = json_array_get_int_element (item, 4);
      row->totals.usd = json_array_get_double_element (item, 5);
    }
  prune (self);
  return TRUE;
}

gboolean
us_spend_flush (UsSpend  *self,
                GError  **error)
{
  return us_state_file_flush (self->file, error);
}

UsSpend *
us_spend_new (const char *path)
{
  UsSpend *self = g_object_new (US_TYPE_SPEND, NULL);
  g_autoptr(GError) error = NULL;

  self->file = us_state_file_new (path, (UsStateSerializeFunc) serialize, self);
  if (path != NULL && !load (self, &error) && !g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      /* Left alone on disk until the next save replaces it. */
      g_warning ("Ignoring %s: %s", path, error->message);
      g_hash_table_remove_all (self->rows);
    }
  return self;
}

/* ---- Totals ------------------------------------------------------------ */

void
us_spend_record (UsSpend    *self,
                 const char *provider,
                 const char *model,
                 gint64      tokens,
                 double      usd)
{
  g_autofree char *today = local_date (0);
  Row *row = lookup_row (self, today, provider, model);

  row->totals.requests++;
  row->totals.tokens += MAX (0, tokens);
  row->totals.usd += MAX (0, usd);
  prune (self);
  us_state_file_changed (self->file);
}

void
us_spend_get (UsSpend        *self,
              const char     *provider,
              const char     *model,
              UsBudgetPeriod  per,
              UsSpendTotals  *out)
{
  g_autofree char *since = period_start (per);
  GHashTableIter iter;
  Row *row;

  *out = (UsSpendTotals) { 0 };
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    if (strcmp (row->date, since) >= 0 && g_str_equal (row->provider, provider)
        && (model == NULL || g_str_equal (row->model, model)))
      {
        out->requests += row->totals.requests;
        out->tokens += row->totals.tokens;
        out->usd += row->totals.usd;
      }
}

char *
us_spend_check_budget (UsSpend        *self,
                       const char     *provider,
                       const char     *model,
                       const UsBudget *budget)
{
  const char *per = budget->per == US_BUDGET_PER_DAY ? "day" : "week";
  UsSpendTotals t;

  us_spend_get (self, provider, model, budget->per, &t);
  if (budget->usd > 0 && t.usd >= budget->usd)
    return g_strdup_printf ("over budget: $%.4g of $%g a %s", t.usd, budget->usd, per);
  if (budget->tokens > 0 && t.tokens >= budget->tokens)
    return g_strdup_printf ("over budget: %" G_GINT64_FORMAT " of %g tokens a %s", t.tokens, budget->tokens, per);
  if (budget->requests > 0 && t.requests >= budget->requests)
    return g_strdup_printf ("over budget: %" G_GINT64_FORMAT " of %g requests a %s", t.requests, budget->requests, per);
  return NULL;
}

static void
add_totals (JsonBuilder         *b,
            const UsSpendTotals *t)
{
  json_builder_set_member_name (b, "requests");
  json_builder_add_int_value (b, t->requests);
  json_builder_set_member_name (b, "tokens");
  json_builder_add_int_value (b, t->tokens);
  json_builder_set_member_name (b, "usd");
  json_builder_add_double_value (b, t->usd);
}

static int
compare_dates_newest_first (gconstpointer a,
                            gconstpointer b)
{
  return -strcmp (*(const char * const *) a, *(const char * const *) b);
}

JsonNode *
us_spend_to_json (UsSpend *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(GHashTable) days = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GHashTable) models = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) dates = g_ptr_array_new ();
  g_autofree char *today = local_date (0);
  UsSpendTotals *today_totals;
  GHashTableIter iter;
  Row *row;

  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    {
      UsSpendTotals *day = g_hash_table_lookup (days, row->date);

      if (day == NULL)
        {
          day = g_new0 (UsSpendTotals, 1);
          g_hash_table_insert (days, row->date, day);
          g_ptr_array_add (dates, row->date);
        }
      day->requests += row->totals.requests;
      day->tokens += row->totals.tokens;
      day->usd += row->totals.usd;
      g_hash_table_insert (models, g_strconcat (row->provider, "\n", row->model, NULL), row);
    }
  g_ptr_array_sort (dates, compare_dates_newest_first);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "today");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "date");
  json_builder_add_string_value (b, today);
  today_totals = g_hash_table_lookup (days, today);
  add_totals (b, today_totals ? today_totals : &(UsSpendTotals) { 0 });
  json_builder_end_object (b);

  json_builder_set_member_name (b, "days");
  json_builder_begin_array (b);
  for (guint i = 0; i < dates->len; i++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "date");
      json_builder_add_string_value (b, g_ptr_array_index (dates, i));
      add_totals (b, g_hash_table_lookup (days, g_ptr_array_index (dates, i)));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "models");
  json_builder_begin_array (b);
  g_hash_table_iter_init (&iter, models);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &row))
    {
      UsSpendTotals t;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "provider");
      json_builder_add_string_value (b, row->provider);
      json_builder_set_member_name (b, "model");
      json_builder_add_string_value (b, row->model);
      us_spend_get (self, row->provider, row->model, US_BUDGET_PER_DAY, &t);
      json_builder_set_member_name (b, "today");
      json_builder_begin_object (b);
      add_totals (b, &t);
      json_builder_end_object (b);
      us_spend_get (self, row->provider, row->model, US_BUDGET_PER_WEEK, &t);
      json_builder_set_member_name (b, "week");
      json_builder_begin_object (b);
      add_totals (b, &t);
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

double
us_price_cost (const UsPrice *price,
               gint64         input_tokens,
               gint64         output_tokens,
               gint64         cache_read_tokens,
               gint64         cache_write_tokens)
{
  return (input_tokens * price->input + output_tokens * price->output
          + cache_read_tokens * price->cache_read + cache_write_tokens * price->cache_write) / 1e6;
}
