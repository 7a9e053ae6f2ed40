import org.objectweb.asm.ClassReader;
import org.objectweb.asm.ClassVisitor;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Opcodes;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Enumeration;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * A build step (agent/pom.xml, package phase, before the class-data sharing archive is made): rewrites the classes of a
 * jar under a package prefix that are older than Java 6 (class file version 49 and below) as Java 8 class files, with
 * the stack map frames that version requires, computed by ASM. The JVM's class-data sharing archives no class older
 * than Java 6 ("Pre JDK 6 class not supported by CDS"), and picocli ships as Java 5 classes: without this, every
 * agent start parses and verifies picocli's 227 classes from the jar (about 35 ms of the time to /livez, measured with
 * bench/footprint.sh). The bytecode is otherwise left as it is; a class the JVM would not verify fails the archive's
 * training run, which loads them all, and so the build.
 *
 * <p>Run with the JDK's source launcher: {@code java -cp asm.jar:JAR UpgradeClassFiles.java JAR PREFIX} (the jar on
 * the class path too: computing frames loads the classes' common super classes).
 */
public final class UpgradeClassFiles {
    private static final int JAVA_6 = 50;

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: UpgradeClassFiles JAR PACKAGE_PREFIX (e.g. target/skep.jar picocli/)");
            System.exit(2);
        }
        Path jar = Path.of(args[0]);
        String prefix = args[1];
        Path out = jar.resolveSibling(jar.getFileName() + ".upgrading");
        int upgraded = 0;
        try (ZipFile in = new ZipFile(jar.toFile()); OutputStream file = Files.newOutputStream(out);
                ZipOutputStream zip = new ZipOutputStream(file)) {
            for (Enumeration<? extends ZipEntry> entries = in.entries(); entries.hasMoreElements();) {
                ZipEntry e = entries.nextElement();
                byte[] bytes;
                try (InputStream s = in.getInputStream(e)) {
                    bytes = s.readAllBytes();
                }
                if (e.getName().startsWith(prefix) && e.getName().endsWith(".class") && version(bytes) < JAVA_6) {
                    bytes = asJava8(bytes);
                    upgraded++;
                }
                ZipEntry copy = new ZipEntry(e.getName());
                copy.setTime(e.getTime());
                zip.putNextEntry(copy);
                zip.write(bytes);
                zip.closeEntry();
            }
        }
        Files.move(out, jar, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("UpgradeClassFiles: " + upgraded + " classes under " + prefix + " in " + jar
                + " are Java 8 class files now");
    }

    /** The major version of a class file: bytes 6 and 7, after the magic number and the minor version. */
    private static int version(byte[] classFile) {
        return ((classFile[6] & 0xff) << 8) | (classFile[7] & 0xff);
    }

    private static byte[] asJava8(byte[] classFile) {
        ClassWriter writer = new ClassWriter(ClassWriter.COMPUTE_FRAMES);
        new ClassReader(classFile).accept(new ClassVisitor(Opcodes.ASM9, writer) {
            @Override
            public void visit(int version, int access, String name, String signature, String superName,
                    String[] interfaces) {
                super.visit(Opcodes.V1_8, access, name, signature, superName, interfaces);
            }
        }, 0);
        return writer.toByteArray();
    }
}
