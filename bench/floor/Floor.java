/**
 * bench/footprint.sh's first memory anchor: a JVM that only sleeps, started with the options `skep up` gives its
 * agents. Its RSS is what the JVM itself costs before any code of ours (libjvm, the JDK's class archive, the
 * heap's first pages, the JVM's own threads). Not part of the product.
 */
public final class Floor {
    public static void main(String[] args) throws InterruptedException {
        System.out.println("up");
        Thread.sleep(Long.MAX_VALUE);
    }
}
