"""Published statistics (article 13): the public /stats page and its definitions."""
