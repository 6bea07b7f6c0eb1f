// The Go rungs of the seed's ladder: a plain fmt program, as the post's entrants wrote it.
// The ladder writes message.go beside this file (`const message = "…"`) before `go build`.
package main

import "fmt"

func main() {
	fmt.Print(message)
}
