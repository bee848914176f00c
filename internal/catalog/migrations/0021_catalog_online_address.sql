-- A service online (channel online or both) must say where: the catalogue
-- refuses one without an address since this version. A service stored
-- before it keeps its claim and leads to its own instructions until an
-- operator gives the real address in the back office.
UPDATE services SET online_url = '/servizi/' || category || '/' || id || '#come-fare'
    WHERE channel <> 'desk' AND online_url = '';
