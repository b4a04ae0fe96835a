mod funnels;
mod udaf;
