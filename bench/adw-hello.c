/* adw-hello.c: the smallest libadwaita window, the floor for the desktop
 * app's memory and idle wakeups in bench/desktop.sh (same toolkit, same
 * renderer, same session, nothing of Understudy's).
 *
 * Build: cc $(pkg-config --cflags libadwaita-1) bench/adw-hello.c \
 *           $(pkg-config --libs libadwaita-1) -o adw-hello
 */
#include <adwaita.h>

static void
on_activate (GtkApplication *app)
{
  GtkWidget *window = adw_application_window_new (app);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), adw_status_page_new ());
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  gtk_window_set_default_size (GTK_WINDOW (window), 950, 630);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int argc, char *argv[])
{
  g_autoptr(AdwApplication) app = adw_application_new ("org.example.AdwHello", G_APPLICATION_NON_UNIQUE);

  g_signal_connect (app, "activate", G_CALLBACK (on_activate), NULL);
  return g_application_run (G_APPLICATION (app), argc, argv);
}
