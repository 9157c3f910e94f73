// Command chronogo-bench is the client side of the server benchmark: it loads the TSBS cpu-only
// data set through /write line protocol or the Go driver, times the three queries and prints a table.
package main
