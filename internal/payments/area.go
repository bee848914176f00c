package payments

// AreaPath is "I miei pagamenti" in the resident's personal area.
const AreaPath = "/area-personale/pagamenti"
