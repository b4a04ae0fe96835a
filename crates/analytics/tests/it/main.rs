mod udaf;
