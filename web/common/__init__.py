"""Page helpers every app's pages share: rendering, errors, forms, request parsing, paging, CSV."""
