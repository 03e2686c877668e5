//! Delivery-receipt text: parse and format.
