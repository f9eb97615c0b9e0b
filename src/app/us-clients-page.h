/* us-clients-page.h: the window's Clients page — connect and disconnect
 * Claude Code, Codex and OpenCode, each with its state. */
#pragma once

#include <adwaita.h>

#include "us-proxy.h"

G_BEGIN_DECLS

#define US_TYPE_CLIENTS_PAGE (us_clients_page_get_type ())
G_DECLARE_FINAL_TYPE (UsClientsPage, us_clients_page, US, CLIENTS_PAGE, AdwBin)

GtkWidget *us_clients_page_new (UsProxy *proxy);

G_END_DECLS
