-- An item's texts in other languages than Italian, one row per language;
-- an empty text is not translated (the page shows the Italian, marked as
-- such). version counts an item's saves: an edit based on an older one is
-- refused.
ALTER TABLE news_items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

CREATE TABLE news_translations (
    item_id TEXT NOT NULL REFERENCES news_items (id) ON DELETE CASCADE,
    lang TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (item_id, lang)
);
