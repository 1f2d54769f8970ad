"""The console's pages: each app's views under web.<app>, shared page helpers in web.common."""
