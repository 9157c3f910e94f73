package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "chronogo-bench:", err)
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "chronogo-bench",
		Short:         "Benchmark client for a running ChronoGo server (TSBS cpu-only data set)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(loadLineprotoCommand(), loadMongoCommand(), loadSDKCommand(), queryCommand(), reportCommand(),
		freePortsCommand(), waitReadyCommand(), genCommand())
	return root
}
