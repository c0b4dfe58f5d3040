# URL patterns of this app, one list per surface; statux/urls.py includes them.
urlpatterns: list = []
