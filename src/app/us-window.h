/* us-window.h: the main window: routing switch, serving model, the four pages. */
#pragma once

#include <adwaita.h>
#include "us-episodes.h"
#include "us-proxy.h"

G_BEGIN_DECLS

#define US_TYPE_WINDOW (us_window_get_type ())
G_DECLARE_FINAL_TYPE (UsWindow, us_window, US, WINDOW, AdwApplicationWindow)

/* @app may be NULL (tests); @episodes may be NULL (no serving display). */
UsWindow *us_window_new           (GtkApplication *app,
                                   UsProxy        *proxy,
                                   UsEpisodes     *episodes);
UsProxy  *us_window_get_proxy     (UsWindow       *self);
/* "page" of the view stack: "chains", "providers", "requests", "clients". */
void      us_window_set_page      (UsWindow       *self,
                                   const char     *name);
GtkWidget *us_window_get_page     (UsWindow       *self,
                                   const char     *name);
/* A toast for something that went wrong (a save failed, the port is taken). */
void      us_window_show_error    (UsWindow       *self,
                                   const char     *message);

G_END_DECLS
